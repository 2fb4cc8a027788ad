package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/salamhq/salam/core/console"
)

var _ console.AuditLog = (*Store)(nil)

// AppendAudit implements console.AuditLog: one IMMEDIATE transaction reads
// the last record and inserts the next, so appends never fork the chain.
func (s *Store) AppendAudit(ctx context.Context, rec console.AuditRecord) (console.AuditRecord, error) {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var last int64
		var prev []byte
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			prev = console.ZeroHash
		case err != nil:
			return err
		}
		rec.Seq, rec.PrevHash = uint64(last)+1, prev
		rec.At = rec.At.UTC().Truncate(time.Microsecond)
		rec.Hash = console.AuditHash(prev, rec)
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, target, detail, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, int64(rec.Seq), rec.At.UnixMicro(), rec.Actor, rec.Action, rec.Target,
			rec.Detail, rec.PrevHash, rec.Hash)
		return err
	})
	if err != nil {
		return console.AuditRecord{}, fmt.Errorf("sqlite: append audit: %w", err)
	}
	return rec, nil
}

// AuditRecords implements console.AuditLog.
func (s *Store) AuditRecords(ctx context.Context, before uint64, limit int) ([]console.AuditRecord, error) {
	if before == 0 {
		before = 1 << 62
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, at, actor, action, target, detail, prev_hash, hash
		FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?`, int64(before), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit records: %w", err)
	}
	defer rows.Close()
	var out []console.AuditRecord
	for rows.Next() {
		var r console.AuditRecord
		var seq, at int64
		if err := rows.Scan(&seq, &at, &r.Actor, &r.Action, &r.Target, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("sqlite: audit records: %w", err)
		}
		r.Seq, r.At = uint64(seq), time.UnixMicro(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
