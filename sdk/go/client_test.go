package salam_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	salam "github.com/salamhq/salam/sdk/go"
)

// recorder collects what a client's handlers receive.
type recorder struct {
	mu       sync.Mutex
	msgs     []salam.Message
	updates  []salam.Update
	typing   []salam.Typing
	receipts []salam.Receipt
	presence []salam.PresenceChange
	states   []salam.State
	errs     []error
}

func (r *recorder) config(url string, token salam.TokenProvider) salam.Config {
	return salam.Config{
		URL: url, Token: token,
		Backoff:        salam.Backoff{Initial: 20 * time.Millisecond, Max: 300 * time.Millisecond},
		RequestTimeout: 3 * time.Second,
		OnMessage:      func(m salam.Message) { r.add(func() { r.msgs = append(r.msgs, m) }) },
		OnUpdate:       func(u salam.Update) { r.add(func() { r.updates = append(r.updates, u) }) },
		OnTyping:       func(x salam.Typing) { r.add(func() { r.typing = append(r.typing, x) }) },
		OnReceipt:      func(x salam.Receipt) { r.add(func() { r.receipts = append(r.receipts, x) }) },
		OnPresence:     func(x salam.PresenceChange) { r.add(func() { r.presence = append(r.presence, x) }) },
		OnState:        func(s salam.State, _ error) { r.add(func() { r.states = append(r.states, s) }) },
		OnError:        func(err error) { r.add(func() { r.errs = append(r.errs, err) }) },
	}
}

func (r *recorder) add(f func()) {
	r.mu.Lock()
	f()
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *recorder) messages() []salam.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// dial connects a client for token with r's handlers.
func dial(t testing.TB, url, token string, r *recorder, tweak ...func(*salam.Config)) *salam.Client {
	t.Helper()
	cfg := r.config(url, salam.StaticToken(token))
	for _, f := range tweak {
		f(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := salam.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// The everyday surface against a real salam up: subscribe, publish, receive
// in order, idempotent retry, conflict, history pages, read receipts, typing
// with its debounce and expiry, presence, typed errors.
func TestChat(t *testing.T) {
	up := startSalam(t, t.TempDir(), "up", "--listen", "127.0.0.1:0")
	aliceTok, bobTok, carolTok := up.token(t, "alice"), up.token(t, "bob"), up.token(t, "carol")
	up.group(t, "lobby", aliceTok, bobTok)
	var ra, rb recorder
	alice := dial(t, up.url(), aliceTok, &ra)
	bob := dial(t, up.url(), bobTok, &rb, func(c *salam.Config) { c.TypingExpiry = 300 * time.Millisecond })
	ctx := ctxFor(t, 30*time.Second)
	for _, c := range []*salam.Client{alice, bob} {
		if err := c.Subscribe(ctx, "lobby"); err != nil {
			t.Fatal(err)
		}
	}
	if s := alice.Session(); s.User != "alice" || s.ID == "" || s.Limits.MaxFrame == 0 {
		t.Fatalf("session %+v", s)
	}

	var acks []salam.Ack
	for i := 1; i <= 5; i++ {
		ack, err := alice.SendText(ctx, "lobby", fmt.Sprint("salam ", i))
		if err != nil || ack.Seq != uint64(i) || ack.ID == "" || ack.Time.IsZero() {
			t.Fatalf("publish %d: %+v, %v", i, ack, err)
		}
		acks = append(acks, ack)
	}
	waitFor(t, 10*time.Second, "bob's 5 messages", func() bool { return rb.count() == 5 })
	for i, m := range rb.messages() {
		if m.Seq != uint64(i+1) || m.From != "alice" || string(m.Data) != fmt.Sprint("salam ", i+1) || m.MsgID != acks[i].ID || m.Channel != "lobby" {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
	if pos, ok := bob.Position("lobby"); !ok || pos != 5 {
		t.Fatalf("Position = %d, %v", pos, ok)
	}

	// Idempotent: the same id again is the same message; with another body, a conflict.
	again, err := alice.Publish(ctx, "lobby", salam.Publication{ID: acks[0].ID, Data: []byte("salam 1")})
	if err != nil || again.Seq != 1 {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	_, err = alice.Publish(ctx, "lobby", salam.Publication{ID: acks[0].ID, Data: []byte("other")})
	var se *salam.Error
	if !errors.Is(err, salam.ErrConflict) || !errors.As(err, &se) || se.Code != 102 || se.Temporary() {
		t.Fatalf("conflict: %v", err)
	}

	// History: one page, then Scroll back through all of it two at a time.
	page, err := bob.History(ctx, "lobby", salam.HistoryQuery{Before: 5, Limit: 2})
	if err != nil || len(page.Messages) != 2 || page.Messages[0].Seq != 4 || !page.More {
		t.Fatalf("history: %+v, %v", page, err)
	}
	var seqs []uint64
	for m, err := range bob.Scroll(ctx, "lobby", salam.HistoryQuery{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	if !slices.Equal(seqs, []uint64{5, 4, 3, 2, 1}) {
		t.Fatalf("scroll back: %v", seqs)
	}
	seqs = nil
	for m, err := range bob.Scroll(ctx, "lobby", salam.HistoryQuery{After: 2, Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	if !slices.Equal(seqs, []uint64{3, 4, 5}) {
		t.Fatalf("scroll forward: %v", seqs)
	}

	// Read cursor: alice sees bob's receipt.
	if err := bob.MarkRead(ctx, "lobby", 5); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "alice's receipt", func() bool {
		ra.mu.Lock()
		defer ra.mu.Unlock()
		return slices.Contains(ra.receipts, salam.Receipt{Channel: "lobby", User: "bob", Seq: 5, Kind: salam.Read})
	})

	// Typing: three keystrokes send one start; bob sees it end by itself.
	for range 3 {
		if err := alice.Typing(ctx, "lobby"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "typing start and expiry", func() bool {
		rb.mu.Lock()
		defer rb.mu.Unlock()
		return slices.Equal(rb.typing, []salam.Typing{{Channel: "lobby", User: "alice"}, {Channel: "lobby", User: "alice", Stop: true}})
	})

	// Presence: bob is online to alice; carol, who shares nothing, reads offline.
	ps, err := alice.QueryPresence(ctx, "bob", "carol")
	if err != nil || len(ps) != 2 || !ps[0].Online || ps[1].Online || ps[1].User != "carol" {
		t.Fatalf("presence: %+v, %v", ps, err)
	}
	if _, err := alice.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	// Typed refusals.
	carol := dial(t, up.url(), carolTok, new(recorder))
	if err := carol.Subscribe(ctx, "dm:nope"); !errors.Is(err, salam.ErrChannelNotFound) {
		t.Fatalf("subscribe to a missing channel: %v", err)
	}
	if err := carol.Subscribe(ctx, "bad channel"); !errors.Is(err, salam.ErrBadChannel) {
		t.Fatalf("bad channel: %v", err)
	}
	if _, err := carol.QueryPresence(ctx); !errors.Is(err, salam.ErrBadFrame) {
		t.Fatalf("empty presence query: %v", err)
	}
}
