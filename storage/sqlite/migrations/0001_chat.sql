-- The chat store: channels, members with their cursors, messages with their
-- idempotency keys, reactions. Times are Unix microseconds, UTC.

CREATE TABLE channels (
	id         TEXT    NOT NULL PRIMARY KEY,
	kind       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	topic      TEXT    NOT NULL,
	public     INTEGER NOT NULL,
	member_cap INTEGER NOT NULL,
	created_by TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	last_seq   INTEGER NOT NULL DEFAULT 0 -- highest sequence assigned; Append increments it
) STRICT, WITHOUT ROWID;

CREATE TABLE members (
	channel       TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	user          TEXT    NOT NULL,
	role          TEXT    NOT NULL,
	joined_at     INTEGER NOT NULL,
	read_seq      INTEGER NOT NULL DEFAULT 0,
	delivered_seq INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (channel, user)
) STRICT, WITHOUT ROWID;

-- ChannelsOf and Unread: a user's memberships in channel order.
CREATE INDEX members_by_user ON members (user, channel);

CREATE TABLE messages (
	channel      TEXT    NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	seq          INTEGER NOT NULL,
	sender       TEXT    NOT NULL,
	client_id    TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	body         BLOB,              -- NULL once deleted
	attachments  TEXT,              -- JSON array; NULL when none
	reply_to     INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	edited_at    INTEGER,           -- NULL if never edited
	deleted      INTEGER NOT NULL DEFAULT 0,
	pinned       INTEGER NOT NULL DEFAULT 0,
	-- SHA-256 of the content as appended (channel, content type, body,
	-- attachments, reply-to): a retry is compared with it, so a retry after
	-- an edit or a delete is still recognised as the same message.
	content_hash BLOB    NOT NULL,
	PRIMARY KEY (channel, seq),
	UNIQUE (sender, client_id)       -- the idempotency key; also its lookup index
) STRICT;

-- Pinned: only pinned messages are indexed.
CREATE INDEX messages_pinned ON messages (channel, seq) WHERE pinned;

CREATE TABLE reactions (
	channel TEXT    NOT NULL,
	seq     INTEGER NOT NULL,
	user    TEXT    NOT NULL,
	emoji   TEXT    NOT NULL,
	PRIMARY KEY (channel, seq, user, emoji), -- also serves the counts per message
	FOREIGN KEY (channel, seq) REFERENCES messages (channel, seq) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
