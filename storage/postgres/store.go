package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salamhq/salam/core/chat"
)

// Store is the PostgreSQL implementation of chat.Store. It is safe for
// concurrent use, and several Stores (in one process or many) may share one
// database schema.
type Store struct {
	pool *pgxpool.Pool

	appendRetries atomic.Uint64 // batches run again after losing a race
}

var _ chat.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or key=value DSN,
// as pgx reads it), creates opt.Schema if missing and applies the migrations
// it lacks, then returns the Store. Processes opening the same schema at
// once migrate it once: the others wait for the first and find nothing left
// to do.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	return open(ctx, url, opt, nil)
}

// open is Open with a hook that adjusts the pool's configuration (tests
// trace queries with it).
func open(ctx context.Context, url string, opt Options, configure func(*pgxpool.Config)) (*Store, error) {
	opt.EnsureDefaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	cfg.MaxConns = opt.MaxConns
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opt.Schema}.Sanitize()
	// JIT compiles plans whose estimated cost is high (a big DeleteChannel,
	// a skewed estimate), adding tens of milliseconds to a statement that
	// runs for a few: a latency trap for short OLTP statements.
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	if configure != nil {
		configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := migrate(ctx, pool, opt.Schema); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool, waiting for connections in use to be released. It
// is safe to call more than once.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// now returns the current time as the store keeps it.
func now() time.Time { return dbTime(time.Now()) }

// dbTime returns t as PostgreSQL keeps it: UTC, microsecond precision.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// orNow returns dbTime(t), or now when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return dbTime(t)
}

// PoolStats reports the connection pool for the operations console and
// /metrics (salam_store_pool_*).
func (s *Store) PoolStats() map[string]float64 {
	st := s.pool.Stat()
	return map[string]float64{
		"pool_total_conns":    float64(st.TotalConns()),
		"pool_idle_conns":     float64(st.IdleConns()),
		"pool_acquired_conns": float64(st.AcquiredConns()),
		"pool_wait_count":     float64(st.EmptyAcquireCount()),
	}
}
