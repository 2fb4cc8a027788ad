package loadgen

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/salamhq/salam/wire"
)

// maxReconnecting bounds the reconnections one worker attempts at once;
// the others queue, and their recovery time includes the wait.
const maxReconnecting = 1000

// Reconnect backoff: the first retry after about reconnectBackoff, doubling
// up to reconnectBackoffMax, with full jitter, as the wire protocol asks of
// clients (PROTOCOL.md §7).
const (
	reconnectBackoff    = 50 * time.Millisecond
	reconnectBackoffMax = 2 * time.Second
)

// reconnectLoad is a worker's part of the reconnect scenario: once every
// worker holds its connections, it closes Percent % of them at once and
// opens them again, as clients do after a network blip; each connection's
// recovery time runs from the drop to its connected frame. A connection
// not back within Drain of the drop is unrecovered.
type reconnectLoad struct {
	w                      *worker
	recovery               *latencies
	recovered, unrecovered atomic.Int64
	errKinds               map[string]int64 // guarded by w.mu
}

func newReconnectLoad(w *worker) *reconnectLoad {
	return &reconnectLoad{w: w, recovery: w.newLatencies("recovery_ms", 4), errKinds: map[string]int64{}}
}

func (l *reconnectLoad) channel(int) string        { return "" }
func (l *reconnectLoad) connecting(int, time.Time) {}
func (l *reconnectLoad) onFrame(int, *wire.Frame)  {}

func (l *reconnectLoad) run(ctx context.Context) {
	cfg := &l.w.cfg
	var open []int
	for i := range cfg.Conns {
		if l.w.conn(i) != nil {
			open = append(open, i)
		}
	}
	rand.Shuffle(len(open), func(a, b int) { open[a], open[b] = open[b], open[a] })
	drop := open[:int(math.Round(float64(len(open))*cfg.Percent/100))]
	dropAt := time.Now()
	queue := make(chan int, len(drop))
	for _, i := range drop {
		if l.w.closeConn(i) {
			queue <- i
		}
	}
	close(queue)
	ctx, cancel := context.WithDeadline(ctx, dropAt.Add(time.Duration(cfg.DrainMs)*time.Millisecond))
	defer cancel()
	var wg sync.WaitGroup
	for range min(len(queue), maxReconnecting) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				l.recover(ctx, i, dropAt)
			}
		}()
	}
	wg.Wait()
}

// recover opens connection i again, retrying with backoff until ctx ends.
func (l *reconnectLoad) recover(ctx context.Context, i int, dropAt time.Time) {
	backoff := reconnectBackoff
	for {
		if l.w.reopen(ctx, i, l.errKinds) == nil {
			l.recovered.Add(1)
			l.recovery.record(i, time.Since(dropAt))
			return
		}
		if sleep(ctx, rand.N(backoff)+time.Millisecond) != nil {
			l.unrecovered.Add(1)
			return
		}
		backoff = min(2*backoff, reconnectBackoffMax)
	}
}

func (l *reconnectLoad) result(res *workerResult) {
	res.Recovered, res.Unrecovered = l.recovered.Load(), l.unrecovered.Load()
	l.w.mu.Lock()
	res.ReconnectErrorsByKind = l.errKinds
	l.w.mu.Unlock()
}
