package salam_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	salam "github.com/salamhq/salam/sdk/go"
)

// sender publishes n messages one after the other and records the acks.
type sender struct {
	c    *salam.Client
	acks []salam.Ack
	err  error
}

func (s *sender) run(ctx context.Context, wg *sync.WaitGroup, channel, name string, n int) {
	defer wg.Done()
	for i := range n {
		ack, err := s.c.SendText(ctx, channel, fmt.Sprintf("%s %d", name, i))
		if err != nil {
			s.err = err
			return
		}
		s.acks = append(s.acks, ack)
	}
}

// checkExactlyOnce asserts that got holds every acknowledged message once,
// in sequence order, without gaps.
func checkExactlyOnce(t *testing.T, got []salam.Message, senders ...*sender) {
	t.Helper()
	want := map[uint64]string{}
	for _, s := range senders {
		for _, a := range s.acks {
			if id, dup := want[a.Seq]; dup && id != a.ID {
				t.Fatalf("seq %d acked for two ids", a.Seq)
			}
			want[a.Seq] = a.ID
		}
	}
	if len(got) != len(want) {
		t.Fatalf("received %d messages, %d acknowledged", len(got), len(want))
	}
	for i, m := range got {
		if m.Seq != uint64(i+1) || want[m.Seq] != m.MsgID {
			t.Fatalf("message %d: seq %d id %q, want seq %d id %q", i, m.Seq, m.MsgID, i+1, want[uint64(i+1)])
		}
	}
}

// The edge a receiver is on is killed with SIGKILL mid-stream and restarted
// on the same port. The receiver reconnects, resumes from its last sequence
// and ends with every acknowledged message exactly once, in order. One
// sender stays on the surviving edge; the other is on the killed one, so its
// in-flight publishes are retried with the same client message id.
func TestReconnectResumeAfterEdgeKilled(t *testing.T) {
	data := t.TempDir()
	up := startSalam(t, data, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	port := freePort(t)
	edge := startSalam(t, data, "edge", "--listen", port, "--nats", up.nats)
	aliceTok, bobTok, carolTok := up.token(t, "alice"), up.token(t, "bob"), up.token(t, "carol")
	up.group(t, "stream", aliceTok, bobTok, carolTok)

	var rb recorder
	bob := dial(t, edge.url(), bobTok, &rb)
	ctx := ctxFor(t, 90*time.Second)
	if err := bob.Subscribe(ctx, "stream"); err != nil {
		t.Fatal(err)
	}
	alice := &sender{c: dial(t, up.url(), aliceTok, new(recorder))}
	carol := &sender{c: dial(t, edge.url(), carolTok, new(recorder))}
	const perSender = 400
	var wg sync.WaitGroup
	wg.Add(2)
	go alice.run(ctx, &wg, "stream", "alice", perSender)
	go carol.run(ctx, &wg, "stream", "carol", perSender)

	waitFor(t, 30*time.Second, "the stream to start", func() bool { return rb.count() >= 100 })
	edge.kill()
	killedAt := rb.count()
	time.Sleep(300 * time.Millisecond) // messages go by while bob is away
	edge = startSalam(t, data, "edge", "--listen", port, "--nats", up.nats)

	wg.Wait()
	for _, s := range []*sender{alice, carol} {
		if s.err != nil || len(s.acks) != perSender {
			t.Fatalf("sender: %d acks, %v", len(s.acks), s.err)
		}
	}
	waitFor(t, 30*time.Second, "bob to catch up", func() bool { return rb.count() >= 2*perSender })
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	checkExactlyOnce(t, rb.messages(), alice, carol)
	rb.mu.Lock()
	connects := 0
	for _, s := range rb.states {
		if s == salam.Connected {
			connects++
		}
	}
	rb.mu.Unlock()
	if connects < 2 {
		t.Fatalf("bob's states %v: no reconnect", rb.states)
	}
	t.Logf("killed the edge after %d messages; %d delivered exactly once", killedAt, rb.count())
}

// More missed messages than the server replays (500): the ack's "mo" flag,
// and the SDK fills the rest from history before delivering the replay.
func TestResumeBeyondReplayLimit(t *testing.T) {
	up := startSalam(t, t.TempDir(), "up", "--listen", "127.0.0.1:0")
	aliceTok, bobTok := up.token(t, "alice"), up.token(t, "bob")
	up.group(t, "busy", aliceTok, bobTok)
	ctx := ctxFor(t, 60*time.Second)
	alice := &sender{c: dial(t, up.url(), aliceTok, new(recorder))}
	var wg sync.WaitGroup
	wg.Add(1)
	alice.run(ctx, &wg, "busy", "alice", 3)

	var rb recorder
	bob := dial(t, up.url(), bobTok, &rb)
	if err := bob.Subscribe(ctx, "busy", salam.SubscribeOptions{After: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the first two", func() bool { return rb.count() == 2 })
	pos, _ := bob.Position("busy")
	bob.Close()

	wg.Add(1)
	alice.run(ctx, &wg, "busy", "alice", 700)
	var rb2 recorder
	bob = dial(t, up.url(), bobTok, &rb2)
	if err := bob.Subscribe(ctx, "busy", salam.SubscribeOptions{After: pos}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "700 missed messages", func() bool { return rb2.count() >= 700 })
	got := append(rb.messages(), rb2.messages()...)
	checkExactlyOnce(t, append([]salam.Message{{Seq: 1, MsgID: alice.acks[0].ID}}, got...), alice)
}

// The token provider is asked again when the server refuses a token (401)
// and when the token expires (the server closes with 4001); the
// subscription survives.
func TestTokenRefresh(t *testing.T) {
	up := startSalam(t, t.TempDir(), "up", "--listen", "127.0.0.1:0")
	aliceTok := up.token(t, "alice")
	up.group(t, "t", aliceTok)
	var mu sync.Mutex
	calls := 0
	provider := func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return "not-a-jwt", nil
		}
		return up.token(t, "alice", "1s"), nil
	}
	var r recorder
	cfg := r.config(up.url(), provider)
	var expired atomic.Bool
	cfg.OnState = func(_ salam.State, err error) {
		var ce *salam.CloseError
		if errors.As(err, &ce) && ce.Code == 4001 {
			expired.Store(true)
		}
	}
	ctx := ctxFor(t, 60*time.Second)
	c, err := salam.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a reconnect after expiry", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls >= 3 && expired.Load() && c.State() == salam.Connected
	})
	if _, err := c.SendText(ctx, "t", "still here"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the message on the restored subscription", func() bool { return r.count() == 1 })
}
