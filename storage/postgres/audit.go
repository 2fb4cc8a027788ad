package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/salamhq/salam/core/console"
)

var _ console.AuditLog = (*Store)(nil)

// auditLock is the transaction-scoped advisory lock that serialises
// appends (with hashtext of the schema, like migrationLock): each reads
// the last record and inserts the next, so the chain never forks.
const auditLock = 0x5a1a_a0d1

// AppendAudit implements console.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, rec console.AuditRecord) (console.AuditRecord, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, auditLock); err != nil {
			return err
		}
		var last int64
		var prev []byte
		err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			prev = console.ZeroHash
		case err != nil:
			return err
		}
		rec.Seq, rec.PrevHash = uint64(last)+1, prev
		rec.At = dbTime(rec.At)
		rec.Hash = console.AuditHash(prev, rec)
		_, err = tx.Exec(ctx, `INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, int64(rec.Seq), rec.At, rec.Actor, rec.Action, rec.Target,
			rec.Detail, rec.PrevHash, rec.Hash)
		return err
	})
	if err != nil {
		return console.AuditRecord{}, fmt.Errorf("postgres: append audit: %w", err)
	}
	return rec, nil
}

// AuditRecords implements console.AuditLog (audit_log_pkey, backwards).
func (s *Store) AuditRecords(ctx context.Context, before uint64, limit int) ([]console.AuditRecord, error) {
	if before == 0 {
		before = 1 << 62
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, at, actor, action, target, detail, prev_hash, hash
		FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2`, int64(before), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit records: %w", err)
	}
	defer rows.Close()
	var out []console.AuditRecord
	for rows.Next() {
		var r console.AuditRecord
		var seq int64
		var at time.Time
		if err := rows.Scan(&seq, &at, &r.Actor, &r.Action, &r.Target, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("postgres: audit records: %w", err)
		}
		r.Seq, r.At = uint64(seq), at.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
