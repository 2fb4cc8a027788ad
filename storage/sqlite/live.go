package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/salamhq/salam/core/live"
)

var _ live.KeyStore = (*Store)(nil)

const keyCols = `id, hash, user, stream, record, created_at, revoked_at`

// CreateStreamKey implements live.KeyStore.
func (s *Store) CreateStreamKey(ctx context.Context, k live.Key) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO stream_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Hash, k.User, k.Stream, boolArg(k.Record), micros(k.CreatedAt), nullMicros(k.RevokedAt))
		if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return fmt.Errorf("sqlite: create stream key %q: %w", k.ID, live.ErrExists)
		} else if err != nil {
			return fmt.Errorf("sqlite: create stream key %q: %w", k.ID, err)
		}
		return nil
	})
}

func scanKey(row interface{ Scan(...any) error }) (live.Key, error) {
	var k live.Key
	var record int64
	var created int64
	var revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.Hash, &k.User, &k.Stream, &record, &created, &revoked); err != nil {
		return k, err
	}
	k.Record, k.CreatedAt, k.RevokedAt = record != 0, fromMicros(created), optMicros(revoked)
	return k, nil
}

// StreamKeyByHash implements live.KeyStore.
func (s *Store) StreamKeyByHash(ctx context.Context, hash []byte) (live.Key, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM stream_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, live.ErrNotFound
	}
	return k, err
}

// UserStreamKeys implements live.KeyStore.
func (s *Store) UserStreamKeys(ctx context.Context, user string) ([]live.Key, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+keyCols+` FROM stream_keys WHERE user = ? ORDER BY created_at, id`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []live.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeStreamKey implements live.KeyStore.
func (s *Store) RevokeStreamKey(ctx context.Context, user, id string, at time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE stream_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND user = ?`,
			micros(at), id, user)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return live.ErrNotFound
		}
		return nil
	})
}
