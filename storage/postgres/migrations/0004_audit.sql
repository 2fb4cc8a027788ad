-- The console's audit log (core/console.AuditLog): append-only, one row per
-- admin action or view of a user's data, each chained to the previous one
-- by hash (hash = sha256(prev_hash || record), see console.AuditHash) so that
-- an edited or removed row breaks the chain. A trigger refuses UPDATE,
-- DELETE and TRUNCATE.

CREATE TABLE audit_log (
	seq       bigint      PRIMARY KEY,
	at        timestamptz NOT NULL,
	actor     text        NOT NULL,
	action    text        NOT NULL,
	target    text        NOT NULL,
	detail    text        NOT NULL,
	prev_hash bytea       NOT NULL,
	hash      bytea       NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
