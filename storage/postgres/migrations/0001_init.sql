-- 0001: channels, members, messages and reactions.
--
-- Identifiers are COLLATE "C" so that ORDER BY and range conditions compare
-- bytes, the order Go's string comparison (and the other Store
-- implementations) use, whatever the database's default collation is.
-- Columns that are rewritten often (channels.last_seq, members' cursors) are
-- not indexed and their tables keep free space (fillfactor), so that those
-- updates stay heap-only (HOT) and write no index entries.

CREATE TABLE channels (
	id         text COLLATE "C" PRIMARY KEY,
	kind       text NOT NULL,
	name       text NOT NULL,
	topic      text NOT NULL,
	public     boolean NOT NULL,
	member_cap integer NOT NULL,
	created_by text NOT NULL,
	created_at timestamptz NOT NULL,
	last_seq   bigint NOT NULL DEFAULT 0 -- highest sequence assigned; Append increments it
) WITH (fillfactor = 70);

CREATE TABLE members (
	channel       text COLLATE "C" NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	user_id       text COLLATE "C" NOT NULL,
	role          text NOT NULL,
	joined_at     timestamptz NOT NULL,
	read_seq      bigint NOT NULL DEFAULT 0,
	delivered_seq bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (channel, user_id)
) WITH (fillfactor = 80);

-- ChannelsOf and Unread: a user's memberships in channel order.
CREATE INDEX members_user_channel ON members (user_id, channel);

-- messages.channel has no foreign key: its check is a trigger per inserted
-- row, about a third of Append's time in the database. Append inserts only
-- into channels whose rows it has just updated (and holds locked until
-- commit), and DeleteChannel deletes a channel's messages in the
-- transaction that deletes the channel, after locking its row.
CREATE TABLE messages (
	channel      text COLLATE "C" NOT NULL,
	seq          bigint NOT NULL,
	sender       text COLLATE "C" NOT NULL,
	client_id    text COLLATE "C" NOT NULL,
	content_type text NOT NULL,
	body         bytea,           -- NULL once deleted
	attachments  jsonb,           -- NULL when none or deleted
	reply_to     bigint NOT NULL, -- 0 = none
	created_at   timestamptz NOT NULL,
	edited_at    timestamptz,     -- NULL if never edited
	deleted      boolean NOT NULL DEFAULT false,
	pinned       boolean NOT NULL DEFAULT false,
	-- What Append compares a retry with, besides channel and reply-to: a
	-- hash of the content type, body and attachments as appended, kept
	-- through Edit and Delete (see contentDigest in append.go).
	digest       bytea NOT NULL,
	PRIMARY KEY (channel, seq),
	-- The idempotency key of Append.
	CONSTRAINT messages_sender_client_id UNIQUE (sender, client_id)
);

-- Pinned: the few pinned messages of a channel, without scanning the others.
CREATE INDEX messages_pinned ON messages (channel, seq) WHERE pinned;

CREATE TABLE reactions (
	channel text COLLATE "C" NOT NULL,
	seq     bigint NOT NULL,
	user_id text COLLATE "C" NOT NULL,
	emoji   text COLLATE "C" NOT NULL,
	PRIMARY KEY (channel, seq, user_id, emoji),
	FOREIGN KEY (channel, seq) REFERENCES messages (channel, seq) ON DELETE CASCADE
);
