package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/salamhq/salam/core/live"
)

var _ live.KeyStore = (*Store)(nil)

const keyCols = `id, hash, user_id, stream, record, created_at, revoked_at`

// CreateStreamKey implements live.KeyStore.
func (s *Store) CreateStreamKey(ctx context.Context, k live.Key) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO stream_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.Hash, k.User, k.Stream, k.Record, dbTime(k.CreatedAt), optTime(k.RevokedAt))
	if isUniqueViolation(err, "stream_keys_pkey") || isUniqueViolation(err, "stream_keys_hash") || isUniqueViolation(err, "stream_keys_stream") {
		return fmt.Errorf("postgres: create stream key %q: %w", k.ID, live.ErrExists)
	} else if err != nil {
		return fmt.Errorf("postgres: create stream key %q: %w", k.ID, err)
	}
	return nil
}

func scanKey(row pgx.Row) (live.Key, error) {
	var k live.Key
	var revoked *time.Time
	if err := row.Scan(&k.ID, &k.Hash, &k.User, &k.Stream, &k.Record, &k.CreatedAt, &revoked); err != nil {
		return k, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if revoked != nil {
		k.RevokedAt = revoked.UTC()
	}
	return k, nil
}

// StreamKeyByHash implements live.KeyStore.
func (s *Store) StreamKeyByHash(ctx context.Context, hash []byte) (live.Key, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM stream_keys WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, live.ErrNotFound
	}
	return k, err
}

// UserStreamKeys implements live.KeyStore.
func (s *Store) UserStreamKeys(ctx context.Context, user string) ([]live.Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyCols+` FROM stream_keys WHERE user_id = $1 ORDER BY created_at, id`, user)
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
	tag, err := s.pool.Exec(ctx, `UPDATE stream_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 AND user_id = $3`,
		dbTime(at), id, user)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return live.ErrNotFound
	}
	return nil
}
