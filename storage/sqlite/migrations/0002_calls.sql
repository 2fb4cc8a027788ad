-- The call history (core/calls.Store): one row per call, one per
-- participant. Times are Unix microseconds, UTC; NULL = not yet. Live call
-- state is never stored. Calls are not tied to channels by a foreign key:
-- the history of a deleted channel is removed with it by core, not here.

CREATE TABLE calls (
	id          TEXT    NOT NULL PRIMARY KEY,
	channel     TEXT    NOT NULL,
	caller      TEXT    NOT NULL,
	node        TEXT    NOT NULL, -- the core process holding its live state
	sfu         INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	answered_at INTEGER,
	ended_at    INTEGER,
	end_reason  TEXT    NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

-- ChannelCalls: a channel's calls newest first.
CREATE INDEX calls_by_channel ON calls (channel, created_at DESC, id DESC);
-- ActiveCalls: only active calls are indexed.
CREATE INDEX calls_active ON calls (node) WHERE ended_at IS NULL;

CREATE TABLE call_participants (
	call      TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	user      TEXT    NOT NULL,
	ord       INTEGER NOT NULL, -- join order within the call
	joined_at INTEGER NOT NULL,
	left_at   INTEGER,
	PRIMARY KEY (call, user)
) STRICT, WITHOUT ROWID;
