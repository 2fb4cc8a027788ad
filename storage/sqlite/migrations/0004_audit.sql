-- The console's audit log (core/console.AuditLog): append-only, one row per
-- admin action or view of a user's data, each chained to the previous one
-- by hash (hash = sha256(prev_hash || record), see console.AuditHash) so that
-- an edited or removed row breaks the chain. Triggers refuse UPDATE and
-- DELETE. Times are Unix microseconds, UTC.

CREATE TABLE audit_log (
	seq       INTEGER NOT NULL PRIMARY KEY,
	at        INTEGER NOT NULL,
	actor     TEXT    NOT NULL,
	action    TEXT    NOT NULL,
	target    TEXT    NOT NULL,
	detail    TEXT    NOT NULL,
	prev_hash BLOB    NOT NULL,
	hash      BLOB    NOT NULL
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
