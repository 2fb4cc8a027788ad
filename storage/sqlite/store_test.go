package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/core/live"
	"github.com/salamhq/salam/storage/callstest"
	"github.com/salamhq/salam/storage/chattest"
	"github.com/salamhq/salam/storage/livetest"
)

func openTemp(t testing.TB, opt Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "chat.db"), opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chat.Store { return openTemp(t, Options{}) })
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 5, 1, 10, 0, 0, 999, time.UTC)
	if _, err := s.CreateChannel(ctx, chat.Channel{ID: "g", Kind: chat.KindGroup, Name: "G", CreatedBy: "o", CreatedAt: created}, "o"); err != nil {
		t.Fatal(err)
	}
	var batch []chat.NewMessage
	for i := range 10 {
		batch = append(batch, chat.NewMessage{Channel: "g", Sender: "o", ClientID: fmt.Sprint(i), ContentType: "text/plain",
			Body: []byte(fmt.Sprint("m", i)), Attachments: []chat.Attachment{{URL: "u", Mime: "m", Size: int64(i)}}, CreatedAt: created})
	}
	if _, err := s.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MoveRead(ctx, "g", "o", 4); err != nil {
		t.Fatal(err)
	}
	if _, err := s.React(ctx, "g", 2, "o", "👍", true); err != nil {
		t.Fatal(err)
	}
	before, _, err := s.History(ctx, chat.HistoryQuery{Channel: "g", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	for round := range 2 { // reopening twice: migrations are applied once
		s = openPath(t, path, Options{})
		after, _, err := s.History(ctx, chat.HistoryQuery{Channel: "g", Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after, before) {
			t.Errorf("round %d: history after reopen differs:\n%+v\nwant\n%+v", round, after, before)
		}
		if m, err := s.Member(ctx, "g", "o"); err != nil || m.ReadSeq != 4 {
			t.Errorf("round %d: member after reopen %+v, %v", round, m, err)
		}
		if r := mustAppend(t, s, batch[3])[0]; !r.Duplicate || r.Message.Seq != 4 {
			t.Errorf("round %d: retry after reopen: %+v; want duplicate #4", round, r)
		}
		var versions, latest int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&versions, &latest); err != nil {
			t.Fatal(err)
		}
		if all, _ := migrations(); versions != len(all) || latest != all[len(all)-1].version {
			t.Errorf("round %d: schema_migrations holds %d rows up to %d, want %d", round, versions, latest, len(all))
		}
		s.Close()
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s := openPath(t, path, Options{})
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path string
		opt  Options
		want error
	}{
		{"", Options{}, ErrInvalidPath},
		{":memory:", Options{}, ErrInvalidPath},
		{"file:x.db", Options{}, ErrInvalidPath},
		{filepath.Join(dir, "a?b.db"), Options{}, ErrInvalidPath},
		{filepath.Join(dir, "c.db"), Options{Synchronous: "OFF"}, ErrInvalidOptions},
		{filepath.Join(dir, "d.db"), Options{BusyTimeout: -time.Second}, ErrInvalidOptions},
	} {
		if s, err := Open(tc.path, tc.opt); !errors.Is(err, tc.want) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Open(%q, %+v) = %v, want %v", tc.path, tc.opt, err, tc.want)
		}
	}
}

// TestPragmas checks the settings each connection runs with.
func TestPragmas(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		sync int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{Options{}, 1}, {Options{Synchronous: "full", BusyTimeout: 1500 * time.Millisecond}, 2}} {
		s := openTemp(t, tc.opt)
		busy := tc.opt.BusyTimeout.Milliseconds()
		if busy == 0 {
			busy = 5000
		}
		for name, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
			for pragma, want := range map[string]string{
				"journal_mode": "wal", "foreign_keys": "1", "synchronous": fmt.Sprint(tc.sync), "busy_timeout": fmt.Sprint(busy),
			} {
				var got string
				if err := db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, want)
				}
			}
		}
		if _, err := s.r.Exec(`DELETE FROM channels`); err == nil {
			t.Errorf("reader connection accepted a write")
		}
	}
}

// TestQueryPlans keeps an index under every statement: none may scan a
// whole table.
func TestQueryPlans(t *testing.T) {
	s := openTemp(t, Options{})
	// Tables and the aliases the statements give them.
	fullScan := regexp.MustCompile(`^SCAN (channels|members|messages|reactions|c|m|r)( |$)`)
	for _, q := range s.queries {
		if !strings.HasPrefix(strings.TrimSpace(q), "SELECT") && !strings.Contains(q, "WHERE") {
			continue // INSERT … VALUES
		}
		n := strings.Count(q, "?")
		args := make([]any, n)
		for i := range args {
			args[i] = 1
		}
		if strings.Contains(q, "?4") {
			args = []any{1, 1, 1, 1}
		}
		rows, err := s.w.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", q, err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			if fullScan.MatchString(detail) && !strings.Contains(detail, "USING") {
				t.Errorf("full scan %q in\n%s", detail, strings.Join(strings.Fields(q), " "))
			}
		}
		rows.Close()
	}
}

// TestTwoStoresOneFile appends from two Stores on the same file, as two
// processes would: their writers contend for SQLite's lock (busy timeout,
// BEGIN IMMEDIATE) and the sequences stay gap-free.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "chat.db")
	a, b := openPath(t, path, Options{}), openPath(t, path, Options{})
	if _, err := a.CreateChannel(ctx, chat.Channel{ID: "g", Kind: chat.KindGroup, CreatedBy: "o", CreatedAt: time.Now()}, "o"); err != nil {
		t.Fatal(err)
	}
	const perWriter, batch = 300, 10
	var wg sync.WaitGroup
	for w, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for i := 0; i < perWriter; i += batch {
				var msgs []chat.NewMessage
				for j := range batch {
					msgs = append(msgs, chat.NewMessage{Channel: "g", Sender: fmt.Sprint("w", w), ClientID: fmt.Sprint(i + j),
						ContentType: "text/plain", CreatedAt: time.Now()})
				}
				if _, err := s.Append(ctx, msgs); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	checkGapFree(t, b, "g", 4*perWriter)
}

func openPath(t testing.TB, path string, opt Options) *Store {
	t.Helper()
	s, err := Open(path, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustAppend(t testing.TB, s *Store, msgs ...chat.NewMessage) []chat.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), msgs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("Append result %d: %v", i, r.Err)
		}
	}
	return res
}

// checkGapFree checks that channel holds exactly the sequences 1..n, with
// no client id twice, and returns the number of messages.
func checkGapFree(t *testing.T, s *Store, channel string, n uint64) {
	t.Helper()
	ch, err := s.Channel(context.Background(), channel)
	if err != nil {
		t.Fatal(err)
	}
	if ch.LastSeq != n {
		t.Errorf("LastSeq %d, want %d", ch.LastSeq, n)
	}
	var count, lo, hi, keys uint64
	err = s.r.QueryRow(`SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0), count(DISTINCT sender || '/' || client_id)
		FROM messages WHERE channel = ?`, channel).Scan(&count, &lo, &hi, &keys)
	if err != nil {
		t.Fatal(err)
	}
	if count != n || keys != n || (n > 0 && (lo != 1 || hi != n)) {
		t.Errorf("messages: %d rows, %d keys, seqs %d..%d; want %d rows, seqs 1..%d", count, keys, lo, hi, n, n)
	}
}

// TestHistoryLimits covers what the contract leaves to the store: limits
// outside 1–MaxHistoryLimit are clamped, two cursors at once are refused.
func TestHistoryLimits(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, Options{})
	if _, err := s.CreateChannel(ctx, chat.Channel{ID: "g", Kind: chat.KindGroup, CreatedBy: "o", CreatedAt: time.Now()}, "o"); err != nil {
		t.Fatal(err)
	}
	var batch []chat.NewMessage
	for i := range chat.MaxHistoryLimit + 5 {
		batch = append(batch, chat.NewMessage{Channel: "g", Sender: "o", ClientID: fmt.Sprint(i), ContentType: "text/plain"})
	}
	mustAppend(t, s, batch...)
	for _, tc := range []struct {
		limit, want int
	}{{0, 1}, {-3, 1}, {chat.MaxHistoryLimit + 1, chat.MaxHistoryLimit}, {1 << 30, chat.MaxHistoryLimit}} {
		for _, q := range []chat.HistoryQuery{{Limit: tc.limit}, {After: 1, Limit: tc.limit}, {Around: 100, Limit: tc.limit}} {
			q.Channel = "g"
			msgs, more, err := s.History(ctx, q)
			if err != nil || len(msgs) != tc.want || !more {
				t.Errorf("History(%+v) = %d messages, more %v, %v; want %d and more", q, len(msgs), more, err, tc.want)
			}
		}
	}
	for _, q := range []chat.HistoryQuery{{Before: 5, After: 1}, {After: 1, Around: 3}, {Before: 9, Around: 3}} {
		q.Channel, q.Limit = "g", 10
		if _, _, err := s.History(ctx, q); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("History(%+v): %v, want ErrInvalidQuery", q, err)
		}
	}
}

func TestLiveKeysContract(t *testing.T) {
	livetest.Run(t, func(t *testing.T) live.KeyStore { return openTemp(t, Options{}) })
}

func TestCallsContract(t *testing.T) {
	callstest.Run(t, func(t *testing.T) calls.Store { return openTemp(t, Options{}) })
}

// TestMigrateOpensLiveRooms takes a database back to before migration 0005
// and migrates it again: the live rooms core/live had created (public
// broadcast channels live-<stream>) come out open, every other channel
// closed.
func TestMigrateOpensLiveRooms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s := openPath(t, path, Options{})
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
	if _, err := s.w.Exec(`ALTER TABLE channels DROP COLUMN open; DELETE FROM schema_migrations WHERE version = 5`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openPath(t, path, Options{})
	for id, open := range want {
		if ch, err := s.Channel(t.Context(), id); err != nil || ch.Open != open {
			t.Errorf("after migration: %s open %v, %v; want %v", id, ch.Open, err, open)
		}
	}
}
