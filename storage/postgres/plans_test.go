package postgres

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// queryLog records each distinct statement the stores send, with the
// arguments of its first use.
type queryLog struct {
	mu   sync.Mutex
	seen map[string][]any
}

func (l *queryLog) record(sql string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[sql]; !ok {
		l.seen[sql] = args
	}
}

// queryTracer feeds one store's statements to a queryLog once the store is
// open (the migration's DDL is left out), through pgx's tracer hooks.
type queryTracer struct {
	log *queryLog
	on  atomic.Bool
}

func (q *queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if q.on.Load() {
		q.log.record(d.SQL, d.Args)
	}
	return ctx
}
func (q *queryTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (q *queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (q *queryTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if q.on.Load() {
		q.log.record(d.SQL, d.Args)
	}
}
func (q *queryTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// openTraced opens a store on a fresh schema that records its statements
// in log.
func openTraced(t testing.TB, log *queryLog) *Store {
	t.Helper()
	tracer := &queryTracer{log: log}
	s, err := open(context.Background(), testURL(t), Options{Schema: testSchema(t), MaxConns: 4},
		func(c *pgxpool.Config) { c.ConnConfig.Tracer = tracer })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tracer.on.Store(true)
	return s
}

var (
	seqScan   = regexp.MustCompile(`Seq Scan on (\w+)`)
	txControl = regexp.MustCompile(`^(?i)(begin|commit|rollback)\b`)
)

// checkPlans explains every statement in log, with its recorded arguments,
// on an empty store with sequential scans disabled: a plan that still scans
// a table sequentially has no index to use. (With seqscan enabled, the
// planner would rightly scan these tiny tables.)
func checkPlans(t *testing.T, log *queryLog) {
	t.Helper()
	s := openTest(t)
	ctx := t.Context()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.seen) < 20 {
		t.Fatalf("only %d statements recorded: run it after the whole suite (-run TestContract)", len(log.seen))
	}
	for sql, args := range log.seen {
		if txControl.MatchString(sql) { // pgx.BeginFunc's begin, commit, rollback: no plan
			continue
		}
		rows, _ := conn.Query(ctx, "EXPLAIN "+sql, args...)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Errorf("EXPLAIN %s: %v", sql, err)
			continue
		}
		plan := strings.Join(lines, "\n")
		if m := seqScan.FindStringSubmatch(plan); m != nil {
			t.Errorf("%s is scanned without an index by:\n%s\n%s", m[1], sql, plan)
		}
	}
	t.Logf("%d statements explained", len(log.seen))
}
