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

// presenceLoad is a worker's part of the presence scenario. Its
// connections are the members of whole groups, each subscribed to its
// group's channel, so each watches the presence of the others. In the
// active phase, Percent % of the worker's users a second start a cycle:
// disconnect, stay away for Down, connect again. Every watcher's offline
// frame is timed from the close, its online frame from the user's connect
// frame.
//
// A change is judged Drain after it happened: each other member of the
// room that was subscribed before the change and is still connected must
// have received it, or it counts as missed. A user starts a new cycle only
// once its last change was judged, so that a frame is never matched to the
// wrong change.
type presenceLoad struct {
	w               *worker
	size            int
	since           []atomic.Int64 // per connection: subscribed since, Unix ns; 0: closed by the churn
	churning        []atomic.Bool  // in a cycle
	online, offline *latencies
	frames          atomic.Int64
	active          atomic.Bool      // the churn is on: changes are recorded
	errKinds        map[string]int64 // reconnection errors; guarded by w.mu

	mu     sync.Mutex       // guards the fields below; taken before w.mu, never after
	latest [2][]*transition // by kind (online, offline) and user: the latest change
	queue  []*transition    // changes not yet judged, oldest first
	res    presenceResult
}

// transition is one change of a user's presence during the churn.
type transition struct {
	user   int
	kind   uint8    // wire.PresenceOnline or wire.PresenceOffline
	at     int64    // Unix ns
	got    []uint64 // bit per room member: received it
	judged bool
}

func newPresenceLoad(w *worker) *presenceLoad {
	n := w.cfg.Conns
	return &presenceLoad{
		w:        w,
		size:     w.cfg.RoomSize,
		since:    make([]atomic.Int64, n),
		churning: make([]atomic.Bool, n),
		online:   w.newLatencies("presence_online_ms", 4),
		offline:  w.newLatencies("presence_offline_ms", 4),
		errKinds: map[string]int64{},
		latest:   [2][]*transition{make([]*transition, n), make([]*transition, n)},
	}
}

func (l *presenceLoad) channel(i int) string { return l.w.cfg.Rooms[i/l.size] }

func (l *presenceLoad) counters(c *counters) { c.Presence = l.frames.Load() }

// connecting records the online change of a user coming back in a cycle:
// its connect frame is about to leave.
func (l *presenceLoad) connecting(i int, at time.Time) {
	if l.active.Load() && l.churning[i].Load() {
		l.record(i, wire.PresenceOnline, at)
	}
}

func (l *presenceLoad) record(user int, kind uint8, at time.Time) {
	t := &transition{user: user, kind: kind, at: at.UnixNano(), got: make([]uint64, (l.size+63)/64)}
	l.mu.Lock()
	l.latest[kind-1][user] = t
	l.queue = append(l.queue, t)
	l.res.Transitions++
	l.mu.Unlock()
}

// onFrame times a presence frame against the change it reports.
func (l *presenceLoad) onFrame(i int, f *wire.Frame) {
	if f.Type != wire.TypePresence {
		return
	}
	now := time.Now().UnixNano()
	l.frames.Add(1)
	n, ok := userNumber(f.From)
	u := n - l.w.cfg.FirstUser
	if !ok || u < 0 || u >= len(l.since) || u/l.size != i/l.size || f.Channel != l.channel(i) ||
		(f.Kind != wire.PresenceOnline && f.Kind != wire.PresenceOffline) {
		l.w.unexpected.Add(1)
		return
	}
	l.mu.Lock()
	if f.Kind == wire.PresenceOnline {
		l.res.Online++
	} else {
		l.res.Offline++
	}
	t := l.latest[f.Kind-1][u]
	if t == nil { // a change before the churn (the ramp)
		l.mu.Unlock()
		return
	}
	bit, word := uint64(1)<<(i%l.size%64), i%l.size/64
	dup := t.got[word]&bit != 0
	t.got[word] |= bit
	switch {
	case dup:
		l.res.Duplicates++
	case t.judged:
		l.res.Late++
	}
	l.mu.Unlock()
	if dup {
		return
	}
	d := time.Duration(now - t.at)
	if f.Kind == wire.PresenceOnline {
		l.online.record(i, d)
	} else {
		l.offline.record(i, d)
	}
}

// run churns for Hold, then waits until every change was judged.
func (l *presenceLoad) run(ctx context.Context) {
	cfg := &l.w.cfg
	start := time.Now()
	for i := range l.since {
		if l.w.conn(i) != nil {
			l.since[i].Store(start.UnixNano() - 1)
		}
	}
	l.active.Store(true)
	drain := time.Duration(cfg.DrainMs) * time.Millisecond
	stopJudge := every(100*time.Millisecond, func(now time.Time) { l.judge(now.Add(-drain).UnixNano()) })
	defer stopJudge()

	rate := cfg.Percent / 100 * float64(cfg.Conns)
	n := int(math.Ceil((time.Duration(cfg.HoldMs)*time.Millisecond).Seconds()*rate - 1e-9))
	var cycles sync.WaitGroup
	_ = pace(ctx, start, rate, n, func(int) {
		u := l.pick()
		if u < 0 {
			return
		}
		cycles.Add(1)
		go func() {
			defer cycles.Done()
			l.cycle(ctx, u)
		}()
	})
	cycles.Wait()
	for l.pending() > 0 && sleep(ctx, 50*time.Millisecond) == nil {
	}
}

// pick chooses a connected user whose last change was judged, starting at
// a random one, and marks it churning; -1 when there is none.
func (l *presenceLoad) pick() int {
	n := len(l.since)
	first := rand.IntN(n)
	l.mu.Lock()
	defer l.mu.Unlock()
	for j := range n {
		u := (first + j) % n
		if t := l.latest[0][u]; l.churning[u].Load() || (t != nil && !t.judged) || l.w.conn(u) == nil {
			continue
		}
		l.churning[u].Store(true)
		return u
	}
	return -1
}

// cycle disconnects user u, waits Down and connects it again, retrying
// every half second until ctx ends.
func (l *presenceLoad) cycle(ctx context.Context, u int) {
	defer l.churning[u].Store(false)
	l.since[u].Store(0)
	l.record(u, wire.PresenceOffline, time.Now())
	if !l.w.closeConn(u) {
		return // dropped meanwhile: its offline change still stands
	}
	if sleep(ctx, time.Duration(l.w.cfg.DownMs)*time.Millisecond) != nil {
		return
	}
	for l.w.reopen(ctx, u, l.errKinds) != nil {
		if sleep(ctx, 500*time.Millisecond) != nil {
			return
		}
	}
	l.since[u].Store(time.Now().UnixNano())
}

// judge closes the changes that happened before cutoff (Unix ns): each
// other member of the room subscribed before the change and connected now
// should have received it.
func (l *presenceLoad) judge(cutoff int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) > 0 && l.queue[0].at <= cutoff {
		t := l.queue[0]
		l.queue = l.queue[1:]
		t.judged = true
		first := t.user / l.size * l.size
		for j := first; j < first+l.size; j++ {
			s := l.since[j].Load()
			if j == t.user || s == 0 || s >= t.at || l.w.conn(j) == nil {
				continue
			}
			l.res.Expected++
			if p := j - first; t.got[p/64]&(1<<(p%64)) == 0 {
				l.res.Missed++
			}
		}
	}
}

func (l *presenceLoad) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue)
}

func (l *presenceLoad) result(res *workerResult) {
	l.mu.Lock()
	r := l.res
	l.mu.Unlock()
	res.Presence = &r
	l.w.mu.Lock()
	res.ReconnectErrorsByKind = l.errKinds
	l.w.mu.Unlock()
}
