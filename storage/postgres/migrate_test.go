package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/salamhq/salam/core/chat"
)

// Three processes start at once on a schema that does not exist yet: one
// creates and migrates it, the others wait and find nothing to do.
func TestMigrateConcurrentOpens(t *testing.T) {
	schema := testSchema(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 3)
	for i := range stores {
		wg.Go(func() {
			s, err := Open(t.Context(), testURL(t), Options{Schema: schema, MaxConns: 2})
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		return
	}
	checkMigrations(t, stores[0])
	// Opening again (a restart) applies nothing.
	checkMigrations(t, openSchema(t, schema, 1))
}

func checkMigrations(t *testing.T, s *Store) {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := s.pool.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != len(ms) {
		t.Fatalf("schema_migrations holds %v, want one row per migration (%d)", versions, len(ms))
	}
	for i, m := range ms {
		if int(versions[i]) != m.version {
			t.Errorf("schema_migrations[%d] = %d, want %d", i, versions[i], m.version)
		}
	}
}

// TestMigrateOpensLiveRooms takes a schema back to before migration 0005
// and migrates it again: the live rooms core/live had created (public
// broadcast channels live-<stream>) come out open, every other channel
// closed.
func TestMigrateOpensLiveRooms(t *testing.T) {
	schema := testSchema(t)
	s := openSchema(t, schema, 1)
	want := map[string]bool{}
	for _, c := range []struct {
		ch   chat.Channel
		open bool
	}{
		{chat.Channel{ID: "live-s1", Kind: chat.KindBroadcast, Public: true}, true},
		{chat.Channel{ID: "live-s2", Kind: chat.KindBroadcast}, false}, // private
		{chat.Channel{ID: "LIVE-s3", Kind: chat.KindBroadcast, Public: true}, false},
		{chat.Channel{ID: "live-g", Kind: chat.KindGroup, Public: true, MemberCap: 8}, false},
		{chat.Channel{ID: "news", Kind: chat.KindBroadcast, Public: true}, false},
	} {
		c.ch.Name, c.ch.CreatedBy = c.ch.ID, "owner"
		if _, err := s.CreateChannel(t.Context(), c.ch, "owner"); err != nil {
			t.Fatal(err)
		}
		want[c.ch.ID] = c.open
	}
	if _, err := s.pool.Exec(t.Context(), `ALTER TABLE channels DROP COLUMN open; DELETE FROM schema_migrations WHERE version = 5`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openSchema(t, schema, 1)
	for id, open := range want {
		if ch, err := s.Channel(t.Context(), id); err != nil || ch.Open != open {
			t.Errorf("after migration: %s open %v, %v; want %v", id, ch.Open, err, open)
		}
	}
}

func TestMigrationsLoad(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Fatalf("migrations %v: want versions from 1", ms)
	}
	// Versions rise; numbers may skip (a branch developed in parallel
	// reserves its own), and migrate applies any version a schema lacks.
	for i := 1; i < len(ms); i++ {
		if ms[i].version <= ms[i-1].version {
			t.Errorf("migration %s has version %d after %d", ms[i].name, ms[i].version, ms[i-1].version)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opt Options
		ok  bool
	}{
		{Options{}, true},
		{Options{MaxConns: 4, Schema: "chat"}, true},
		{Options{MaxConns: -1}, false},
		{Options{Schema: "pg_catalog"}, false},
		{Options{Schema: "a\x00b"}, false},
		{Options{Schema: string(make([]byte, 64))}, false},
	} {
		err := tc.opt.Validate()
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("Validate(%+v) = %v, want ok %v", tc.opt, err, tc.ok)
		}
	}
	// Open rejects bad options before it connects.
	if _, err := Open(context.Background(), "postgres://unreachable.invalid/x", Options{MaxConns: -1}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Open(bad options) = %v, want ErrInvalidOptions", err)
	}
}
