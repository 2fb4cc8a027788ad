package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/salamhq/salam/core/chat"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Store is the chat.Store of one SQLite database file.
type Store struct {
	// w holds the only writing connection: SQLite admits one writer at a
	// time, so writers of this process queue in database/sql for it instead
	// of spinning on SQLITE_BUSY. Its transactions begin IMMEDIATE, taking
	// the write lock up front, which serialises read-modify-write sequences
	// with other processes too.
	w *sql.DB
	// r is a pool of read-only connections; under WAL each reads the last
	// committed snapshot while the writer works.
	r *sql.DB

	ws      writeStmts
	rs      readStmts
	queries []string // the text of every prepared statement, for the query-plan test

	closeOnce sync.Once
	closeErr  error
}

var _ chat.Store = (*Store)(nil)

// Open opens (creating it if needed) the database file at path, applies
// the pending schema migrations and prepares the statements.
func Open(path string, opt Options) (*Store, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt.EnsureDefaults()
	switch {
	case path == "", strings.HasPrefix(path, ":memory:"), strings.HasPrefix(path, "file:"):
		// Two connection pools need one file; a URI could add parameters.
		return nil, fmt.Errorf("%w: %q: want a file name", ErrInvalidPath, path)
	case strings.ContainsRune(path, '?'):
		return nil, fmt.Errorf("%w: %q: '?' starts the driver's parameters", ErrInvalidPath, path)
	}
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(%s)",
		opt.BusyTimeout.Milliseconds(), opt.Synchronous)

	s := &Store{}
	var err error
	if s.w, err = sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := migrate(context.Background(), s.w); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	// Readers open after the writer has put the file in WAL mode.
	if s.r, err = sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)"); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	if err := s.prepare(); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: %s: prepare: %w", path, err)
	}
	return s, nil
}

// Close closes both connection pools and their statements. The last
// connection to close checkpoints the write-ahead log into the database.
// Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.r != nil {
			s.closeErr = s.r.Close()
		}
		if err := s.w.Close(); err != nil && s.closeErr == nil {
			s.closeErr = err
		}
	})
	return s.closeErr
}

// write runs fn in one IMMEDIATE transaction on the writer and commits it
// when fn returns nil.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// PoolStats reports the embedded store's connections (writer and readers
// together) for the operations console and /metrics (salam_store_*).
func (s *Store) PoolStats() map[string]float64 {
	w, r := s.w.Stats(), s.r.Stats()
	return map[string]float64{
		"open_connections": float64(w.OpenConnections + r.OpenConnections),
		"in_use":           float64(w.InUse + r.InUse),
		"pool_wait_count":  float64(w.WaitCount + r.WaitCount),
	}
}
