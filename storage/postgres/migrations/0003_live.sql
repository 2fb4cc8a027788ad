-- 0003: stream keys (core/live.KeyStore). Only the SHA-256 of each secret
-- key is stored; revoked keys stay, so that a stream name is never reused.

CREATE TABLE stream_keys (
	id         text COLLATE "C" PRIMARY KEY,
	hash       bytea NOT NULL,
	user_id    text COLLATE "C" NOT NULL,
	stream     text COLLATE "C" NOT NULL,
	record     boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL,
	revoked_at timestamptz,
	CONSTRAINT stream_keys_hash UNIQUE (hash),
	CONSTRAINT stream_keys_stream UNIQUE (stream)
);

-- UserStreamKeys: a user's keys oldest first.
CREATE INDEX stream_keys_user ON stream_keys (user_id, created_at, id);
