package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// Issue 9's fault scenarios. Each runs the same traffic through a
// topology (three NATS servers, two core processes, three edges): one
// publisher sends faultMessages messages at faultRate into a group channel,
// retrying each with its client message id until acknowledged, while
// faultReceivers members spread over the edges receive them, resuming from
// their last sequence when a connection drops and filling any gap they see
// with history. Midway the scenario's fault strikes. The pass criterion is
// the same for all: the channel stores every acknowledged message exactly
// once with gap-free sequences, every receiver has every one of them, no
// event was pushed to a receiver twice, and every receiver that lost its
// connection was subscribed again within 5 s.
const (
	faultMessages  = 600
	faultRate      = 200 // messages per second
	faultReceivers = 30
)

// An edge is killed: its clients reconnect to the others and resume.
func TestFaultEdgeKilled(t *testing.T) {
	runFault(t, func(top *topology) { top.edges[2].kill() })
}

// A core process is killed mid-write: what it had in flight is retried
// through the other and de-duplicated.
func TestFaultCoreKilled(t *testing.T) {
	runFault(t, func(top *topology) { top.cores[1].kill() })
}

// One NATS server of three restarts: clients of the bus move to the
// others; events lost with it are replayed or filled.
func TestFaultNATSRestart(t *testing.T) {
	runFault(t, func(top *topology) {
		top.nats[1].stop()
		time.Sleep(time.Second)
		top.nats[1].start()
	})
}

// Postgres is unreachable for 10 s (every connection cut, new ones
// refused): sends are refused with "unavailable" and retried, never
// acknowledged and then lost; salam recovers without a restart.
func TestFaultPostgresDown(t *testing.T) {
	runFault(t, func(top *topology) {
		top.pg.cut()
		time.Sleep(10 * time.Second)
		top.pg.restore()
	})
}

// Redis is unreachable: presence and the shared rate limits degrade (see
// README), chat goes on.
func TestFaultRedisDown(t *testing.T) {
	runFault(t, func(top *topology) {
		top.redis.cut()
		time.Sleep(3 * time.Second)
	})
}

func runFault(t *testing.T, fault func(*topology)) {
	top := startTopology(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	channel := fmt.Sprintf("faults-%d", time.Now().UnixNano())
	owner := devToken(t, top.data, "publisher")
	if code := rest(t, top.cores[0].addr, owner, "POST", "/v1/channels", map[string]any{"id": channel, "name": "faults", "kind": "group"}, nil); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	var receivers []*receiver
	for i := 0; i < faultReceivers; i++ {
		user := fmt.Sprintf("r%02d", i)
		if code := rest(t, top.cores[0].addr, owner, "POST", "/v1/channels/"+channel+"/members", map[string]any{"user": user}, nil); code != 201 {
			t.Fatalf("add member: %d", code)
		}
		r := newReceiver(top, user, channel, i%len(top.edges))
		receivers = append(receivers, r)
		go r.run(ctx)
	}
	for _, r := range receivers {
		r.waitUp(t)
	}
	pub := newSession(top, "publisher", 0)
	go pub.run(ctx)

	acked := sendAll(t, ctx, pub, channel, func() { fault(top) })
	checkStored(t, top, owner, channel, acked)
	checkReceived(t, receivers, acked)
}

// sendAll sends faultMessages messages at faultRate, striking fault after a
// third of them, and returns client id → acknowledged sequence once every
// message is acknowledged.
func sendAll(t *testing.T, ctx context.Context, pub *session, channel string, fault func()) map[string]uint64 {
	var mu sync.Mutex
	acked := make(map[string]uint64, faultMessages)
	var wg sync.WaitGroup
	faultDone := make(chan struct{})
	tick := time.NewTicker(time.Second / faultRate)
	defer tick.Stop()
	start := time.Now()
	for i := 0; i < faultMessages; i++ {
		<-tick.C
		if i == faultMessages/3 {
			go func() { fault(); close(faultDone) }()
		}
		id := fmt.Sprintf("%s-%04d", channel, i) // (sender, client id) is unique across channels
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := pub.send(t, ctx, channel, id)
			mu.Lock()
			acked[id] = seq
			mu.Unlock()
		}()
	}
	wg.Wait()
	<-faultDone
	pub.mu.Lock()
	t.Logf("%d messages acknowledged in %v; sends tried again: %v", len(acked), time.Since(start).Round(time.Millisecond), pub.retries)
	pub.mu.Unlock()
	return acked
}

// checkStored reads the channel back over REST: every acknowledged message
// once, under its acknowledged sequence, and sequences 1..n with no gap.
func checkStored(t *testing.T, top *topology, tok, channel string, acked map[string]uint64) {
	t.Helper()
	var stored []struct {
		Seq      uint64 `json:"seq"`
		ClientID string `json:"client_id"`
	}
	for after := uint64(0); ; {
		var page struct {
			Messages []struct {
				Seq      uint64 `json:"seq"`
				ClientID string `json:"client_id"`
			} `json:"messages"`
			More bool `json:"more"`
		}
		path := fmt.Sprintf("/v1/channels/%s/messages?order=asc&limit=200", channel)
		if after > 0 {
			path += fmt.Sprintf("&after=%d", after)
		}
		if code := rest(t, top.cores[0].addr, tok, "GET", path, nil, &page); code != http.StatusOK {
			t.Fatalf("history: %d", code)
		}
		stored = append(stored, page.Messages...)
		if !page.More || len(page.Messages) == 0 {
			break
		}
		after = page.Messages[len(page.Messages)-1].Seq
	}
	if len(stored) != len(acked) {
		t.Errorf("stored %d messages, acknowledged %d", len(stored), len(acked))
	}
	for i, m := range stored {
		if m.Seq != uint64(i+1) {
			t.Fatalf("stored message %d has seq %d: sequences are not gap-free", i, m.Seq)
		}
		if seq, ok := acked[m.ClientID]; !ok || seq != m.Seq {
			t.Errorf("stored %s as seq %d, acknowledged as %d (%v)", m.ClientID, m.Seq, seq, ok)
		}
	}
}

// checkReceived waits for every receiver to hold every acknowledged
// message, then checks that none was pushed twice and that reconnects were
// quick.
func checkReceived(t *testing.T, receivers []*receiver, acked map[string]uint64) {
	t.Helper()
	seqs := make([]uint64, 0, len(acked))
	for _, s := range acked {
		seqs = append(seqs, s)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, r := range receivers {
		for missing := r.missing(seqs); len(missing) > 0; missing = r.missing(seqs) {
			if time.Now().After(deadline) {
				t.Fatalf("%s misses %d acknowledged messages, e.g. %v", r.user, len(missing), missing[:min(5, len(missing))])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var recoveries []time.Duration
	filled := 0
	for _, r := range receivers {
		r.mu.Lock()
		for seq, n := range r.pushed {
			if n > 1 {
				t.Errorf("%s was pushed seq %d %d times", r.user, seq, n)
			}
		}
		filled += len(r.filled)
		r.mu.Unlock()
		recoveries = append(recoveries, r.recoveries()...)
	}
	slices.Sort(recoveries)
	if len(recoveries) > 0 && recoveries[len(recoveries)-1] > 5*time.Second {
		t.Errorf("slowest reconnect %v, want ≤ 5s", recoveries[len(recoveries)-1])
	}
	t.Logf("%d receivers hold all %d messages; %d reconnects (slowest %v); %d messages filled from history",
		len(receivers), len(seqs), len(recoveries), slices.Max(append(recoveries, 0)), filled)
}

// session is one user's connection that moves to the next edge whenever
// it drops, as an SDK does. onUp runs on every new connection (a receiver
// subscribes there); onFrame gets every frame that is not a reply.
type session struct {
	top     *topology
	user    string
	token   string
	edge    int
	onUp    func(context.Context, *wsclient.Conn) error
	onFrame func(*wire.Frame)

	mu      sync.Mutex
	conn    *wsclient.Conn
	lostAt  time.Time
	back    []time.Duration // disconnect → connected (and onUp done) again
	retries map[string]int  // sends tried again, by why
}

func newSession(top *topology, user string, edge int) *session {
	return &session{top: top, user: user, token: devToken(top.t, top.data, user), edge: edge, onFrame: func(*wire.Frame) {}}
}

func (s *session) run(ctx context.Context) {
	for ctx.Err() == nil {
		c, err := s.dial(ctx)
		if err != nil {
			s.down(nil)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		done := make(chan error, 1)
		go func() { done <- c.Dispatch(s.onFrame) }()
		if s.onUp != nil {
			if err := s.onUp(ctx, c); err != nil {
				c.Close()
				<-done
				s.down(nil)
				time.Sleep(100 * time.Millisecond)
				continue
			}
		}
		s.mu.Lock()
		s.conn = c
		if !s.lostAt.IsZero() {
			s.back = append(s.back, time.Since(s.lostAt))
			s.lostAt = time.Time{}
		}
		s.mu.Unlock()
		select {
		case <-done:
			s.down(c)
		case <-ctx.Done():
			c.Close()
			return
		}
	}
}

func (s *session) dial(ctx context.Context) (*wsclient.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := wsclient.Dial(dctx, "ws://"+s.top.edges[s.edge].addr+"/v1/ws", wsclient.Options{Token: s.token})
	if err != nil {
		return nil, err
	}
	if _, err := c.Connect(dctx, "faults"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// down records a lost connection (c) or a failed attempt (nil) and moves
// to the next edge.
func (s *session) down(c *wsclient.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c != nil {
		c.Close()
		s.conn = nil
	}
	if s.lostAt.IsZero() {
		s.lostAt = time.Now()
	}
	s.edge = (s.edge + 1) % len(s.top.edges)
}

// current waits for a live connection.
func (s *session) current(ctx context.Context) *wsclient.Conn {
	for ctx.Err() == nil {
		s.mu.Lock()
		c := s.conn
		s.mu.Unlock()
		if c != nil {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (s *session) recoveries() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.back)
}

// send publishes one message until it is acknowledged, with the same
// client message id every time, and returns its sequence.
func (s *session) send(t *testing.T, ctx context.Context, channel, id string) uint64 {
	for attempt := 1; ; attempt++ {
		c := s.current(ctx)
		if c == nil {
			t.Errorf("%s: no connection", id)
			return 0
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		reply, err := c.Request(rctx, &wire.Frame{Type: wire.TypePublish, Channel: channel, MsgID: id, Data: []byte(id)})
		cancel()
		var werr *wire.Error
		switch {
		case err == nil:
			return reply.Seq
		case errors.As(err, &werr) && werr.Code != wire.CodeUnavailable && werr.Code != wire.CodeTimeout:
			t.Errorf("%s: refused for good: %v", id, err)
			return 0
		} // a broken connection, no answer in time, or core unavailable: again
		why := "connection"
		if werr != nil {
			why = werr.Code.String()
		} else if errors.Is(err, context.DeadlineExceeded) {
			why = "no answer in 5s"
		}
		s.mu.Lock()
		if s.retries == nil {
			s.retries = map[string]int{}
		}
		s.retries[why]++
		s.mu.Unlock()
		if attempt == 200 {
			t.Errorf("%s: not acknowledged after %d attempts: %v", id, attempt, err)
			return 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// receiver is a channel member that keeps every message it gets: pushed
// (live or replayed on resume) or filled from history when it sees a gap.
type receiver struct {
	*session
	channel string
	up      chan struct{}

	// guarded by session.mu
	pushed map[uint64]int
	filled map[uint64]bool
	high   uint64 // highest sequence held
}

func newReceiver(top *topology, user, channel string, edge int) *receiver {
	r := &receiver{session: newSession(top, user, edge), channel: channel, up: make(chan struct{}),
		pushed: map[uint64]int{}, filled: map[uint64]bool{}}
	r.onFrame = func(f *wire.Frame) {
		if f.Channel != channel {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case f.Type == wire.TypeEvent && f.Kind == wire.EventMessage:
			r.pushed[f.Seq]++
			r.high = max(r.high, f.Seq)
		case f.Type == wire.TypeMessages: // a history page fillGaps asked for
			for _, m := range f.Messages {
				if r.pushed[m.Seq] == 0 {
					r.filled[m.Seq] = true
				}
			}
		}
	}
	r.onUp = r.subscribe
	return r
}

// subscribe resumes after the last sequence up to which nothing is missing.
func (r *receiver) subscribe(ctx context.Context, c *wsclient.Conn) error {
	ack, err := c.Request(ctx, &wire.Frame{Type: wire.TypeSubscribe, Channel: r.channel, Seq: r.contiguous()})
	if err != nil {
		return err
	}
	if ack.Type != wire.TypeAck {
		return fmt.Errorf("subscribe: %+v", ack)
	}
	select {
	case <-r.up:
	default:
		close(r.up)
	}
	return nil
}

func (r *receiver) waitUp(t *testing.T) {
	select {
	case <-r.up:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never subscribed", r.user)
	}
}

func (r *receiver) run(ctx context.Context) {
	go r.fillGaps(ctx)
	r.session.run(ctx)
}

// fillGaps fetches with history what is missing below the highest
// sequence held, when it is still missing a moment later (PROTOCOL.md:
// order and gaps).
func (r *receiver) fillGaps(ctx context.Context) {
	var last uint64
	for ctx.Err() == nil {
		time.Sleep(300 * time.Millisecond)
		from := r.contiguous()
		r.mu.Lock()
		gap := from < r.high
		r.mu.Unlock()
		if !gap || from != last {
			last = from
			continue
		}
		c := r.current(ctx)
		if c == nil {
			return
		}
		c.Send(&wire.Frame{Type: wire.TypeHistory, ID: c.NextID(), Channel: r.channel, Since: from, Oldest: true, Limit: 200})
	}
}

// contiguous is the highest sequence up to which the receiver holds all.
func (r *receiver) contiguous() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s uint64
	for r.pushed[s+1] > 0 || r.filled[s+1] {
		s++
	}
	return s
}

func (r *receiver) missing(seqs []uint64) []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for _, s := range seqs {
		if r.pushed[s] == 0 && !r.filled[s] {
			out = append(out, s)
		}
	}
	return out
}
