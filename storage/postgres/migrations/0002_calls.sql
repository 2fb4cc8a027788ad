-- 0002: the call history (core/calls.Store): one row per call, one per
-- participant. Live call state is never stored. Calls have no foreign key
-- to channels: a channel's history is removed with it by core, not here.

CREATE TABLE calls (
	id          text COLLATE "C" PRIMARY KEY,
	channel     text COLLATE "C" NOT NULL,
	caller      text COLLATE "C" NOT NULL,
	node        text COLLATE "C" NOT NULL, -- the core process holding its live state
	sfu         boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL,
	answered_at timestamptz,
	ended_at    timestamptz,
	end_reason  text NOT NULL DEFAULT ''
);

-- ChannelCalls: a channel's calls newest first.
CREATE INDEX calls_channel_created ON calls (channel, created_at DESC, id DESC);
-- ActiveCalls: only active calls are indexed.
CREATE INDEX calls_active ON calls (node) WHERE ended_at IS NULL;

CREATE TABLE call_participants (
	call_id   text COLLATE "C" NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	user_id   text COLLATE "C" NOT NULL,
	ord       integer NOT NULL, -- join order within the call
	joined_at timestamptz NOT NULL,
	left_at   timestamptz,
	PRIMARY KEY (call_id, user_id)
);
