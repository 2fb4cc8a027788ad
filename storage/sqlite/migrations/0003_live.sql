-- Stream keys (core/live.KeyStore). Only the SHA-256 of each secret key is
-- stored. Times are Unix microseconds, UTC; revoked_at NULL = valid.
-- Revoked keys stay, so that a stream name is never reused.

CREATE TABLE stream_keys (
	id         TEXT    NOT NULL PRIMARY KEY,
	hash       BLOB    NOT NULL UNIQUE,
	user       TEXT    NOT NULL,
	stream     TEXT    NOT NULL UNIQUE,
	record     INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT, WITHOUT ROWID;

-- UserStreamKeys: a user's keys oldest first.
CREATE INDEX stream_keys_by_user ON stream_keys (user, created_at, id);
