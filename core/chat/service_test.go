package chat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/storage/sqlite"
	"github.com/salamhq/salam/wire"
)

type fixture struct {
	t     *testing.T
	nc    *nats.Conn
	store chat.Store
	svc   *chat.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	nc, store, svc := startChat(t)
	return &fixture{t: t, nc: nc, store: store, svc: svc}
}

// startChat runs a chat service on an embedded NATS server and a fresh
// SQLite store; everything stops when tb ends.
func startChat(tb testing.TB) (*nats.Conn, chat.Store, *chat.Service) {
	tb.Helper()
	_, nc := bustest.Start(tb)
	store, err := sqlite.Open(filepath.Join(tb.TempDir(), "chat.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	svc, err := chat.NewService(nc, store, chat.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Stop(context.Background()) })
	return nc, store, svc
}

func (f *fixture) channel(id string, members ...string) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.store.CreateChannel(ctx, chat.Channel{ID: id, Kind: chat.KindGroup, MemberCap: 256, CreatedBy: members[0],
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}, members[0]); err != nil {
		f.t.Fatal(err)
	}
	for _, m := range members[1:] {
		if _, err := f.store.PutMember(ctx, id, m, chat.RoleMember); err != nil {
			f.t.Fatal(err)
		}
	}
}

// request sends a client frame as user, the way an edge does, and decodes the reply.
func (f *fixture) request(subject, user string, fr *wire.Frame) *wire.Frame {
	f.t.Helper()
	req := bus.Request{User: user, Frame: wire.Msgpack.Append(nil, fr)}
	m, err := f.nc.Request(subject, req.AppendMsgpack(nil), 5*time.Second)
	if err != nil {
		f.t.Fatal(err)
	}
	var out wire.Frame
	if err := wire.Msgpack.Decode(m.Data, &out); err != nil {
		f.t.Fatal(err)
	}
	return &out
}

func (f *fixture) send(channel, from, clientID, body string) *wire.Frame {
	return f.request(bus.PublishSubject(channel), from,
		&wire.Frame{Type: wire.TypePublish, Channel: channel, MsgID: clientID, Data: []byte(body)})
}

func TestSendIsDurableIdempotentAndOrdered(t *testing.T) {
	f := newFixture(t)
	f.channel("team", "alice", "bob")
	events, _ := f.nc.SubscribeSync(bus.EventSubject("team"))
	f.nc.Flush()

	r1 := f.send("team", "alice", "c-1", "salam")
	if r1.Type != wire.TypeAck || r1.Seq != 1 {
		t.Fatalf("first send: %+v", r1)
	}
	// The ack came after the commit: the message is in the store.
	if m, err := f.store.Message(context.Background(), "team", 1); err != nil || string(m.Body) != "salam" {
		t.Fatalf("stored %+v, %v", m, err)
	}
	// A retry returns the original and publishes nothing new.
	if r := f.send("team", "alice", "c-1", "salam"); r.Code != 0 || r.Seq != 1 {
		t.Fatalf("retry: %+v", r)
	}
	// Same client id, other body: a conflict, nothing stored.
	if r := f.send("team", "alice", "c-1", "changed"); r.Code != wire.CodeConflict {
		t.Fatalf("conflicting retry: %+v", r)
	}
	if r := f.send("team", "bob", "c-1", "bob's own id space"); r.Code != 0 || r.Seq != 2 {
		t.Fatalf("other sender, same client id: %+v", r)
	}
	for want := uint64(1); want <= 2; want++ {
		m, err := events.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var ev wire.Frame
		wire.Msgpack.Decode(m.Data, &ev)
		if ev.Type != wire.TypeEvent || ev.Seq != want {
			t.Fatalf("event seq %d, want %d", ev.Seq, want)
		}
	}
	if m, err := events.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("unexpected extra event %q", m.Data)
	}
}

func TestSendRefusals(t *testing.T) {
	f := newFixture(t)
	f.channel("team", "alice")
	tests := []struct {
		name                    string
		channel, from, id, body string
		want                    wire.Code
	}{
		{"unknown channel", "nowhere", "alice", "x1", "hi", wire.CodeChannelNotFound},
		{"non-member", "team", "mallory", "x2", "hi", wire.CodeNotMember},
		{"no client id", "team", "alice", "", "hi", wire.CodeBadFrame},
		{"oversize body", "team", "alice", "x3", string(make([]byte, 70<<10)), wire.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := f.send(tt.channel, tt.from, tt.id, tt.body); r.Code != tt.want {
				t.Fatalf("got %+v, want code %v", r, tt.want)
			}
		})
	}
	if ch, _ := f.store.Channel(context.Background(), "team"); ch.LastSeq != 0 {
		t.Fatalf("refused sends stored something: last seq %d", ch.LastSeq)
	}
}

// TestPublishInOpenChannels: over the bus, as edges publish, anyone not
// banned publishes in an open public broadcast channel; everywhere else
// only members do.
func TestPublishInOpenChannels(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, ch := range []chat.Channel{
		{ID: "live-open", Kind: chat.KindBroadcast, Public: true, Open: true},
		{ID: "live-closed", Kind: chat.KindBroadcast, Public: true},
		{ID: "private-open", Kind: chat.KindBroadcast, Open: true}, // REST refuses it; the check must too
	} {
		ch.Name, ch.CreatedBy, ch.CreatedAt = ch.ID, "host", time.Now().UTC().Truncate(time.Microsecond)
		if _, err := f.store.CreateChannel(ctx, ch, "host"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.PutMember(ctx, ch.ID, "troll", chat.RoleBanned); err != nil {
			t.Fatal(err)
		}
	}
	f.channel("team", "alice")
	tests := []struct {
		channel, from string
		want          wire.Code
	}{
		{"live-open", "viewer", 0},
		{"live-open", "host", 0},
		{"live-open", "troll", wire.CodeBanned},
		{"live-closed", "viewer", wire.CodeNotMember},
		{"live-closed", "host", 0},
		{"live-closed", "troll", wire.CodeBanned},
		{"private-open", "viewer", wire.CodeNotMember},
		{"team", "viewer", wire.CodeNotMember},
	}
	for i, tt := range tests {
		t.Run(tt.channel+"/"+tt.from, func(t *testing.T) {
			r := f.send(tt.channel, tt.from, fmt.Sprint("c", i), "hi")
			if r.Code != tt.want || tt.want == 0 && r.Type != wire.TypeAck {
				t.Fatalf("got %+v, want code %v", r, tt.want)
			}
		})
	}
}

func TestConcurrentSendsGapFree(t *testing.T) {
	f := newFixture(t)
	f.channel("busy", "alice")
	const senders, each = 8, 100
	seen := make(chan uint64, senders*each)
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r := f.send("busy", "alice", fmt.Sprintf("g%d-%d", g, i), "x")
				if r.Code != 0 {
					t.Errorf("send: %+v", r)
					return
				}
				seen <- r.Seq
			}
		}()
	}
	wg.Wait()
	close(seen)
	got := map[uint64]bool{}
	for s := range seen {
		if got[s] {
			t.Fatalf("seq %d acknowledged twice", s)
		}
		got[s] = true
	}
	for s := uint64(1); s <= senders*each; s++ {
		if !got[s] {
			t.Fatalf("gap at seq %d", s)
		}
	}
}

func TestResumeHistoryAndReceipts(t *testing.T) {
	f := newFixture(t)
	f.channel("team", "alice", "bob")
	for i := 1; i <= 12; i++ {
		if r := f.send("team", "alice", fmt.Sprintf("m%d", i), fmt.Sprint(i)); r.Seq != uint64(i) {
			t.Fatalf("send %d: %+v", i, r)
		}
	}
	// Subscribe without resume: an ack. With resume after 9: messages 10–12, oldest first.
	if r := f.request(bus.RequestSubject("team"), "bob", &wire.Frame{Type: wire.TypeSubscribe, Channel: "team"}); r.Type != wire.TypeAck {
		t.Fatalf("subscribe: %+v", r)
	}
	r := f.request(bus.RequestSubject("team"), "bob", &wire.Frame{Type: wire.TypeSubscribe, Channel: "team", Seq: 9})
	if r.Type != wire.TypeMessages || len(r.Messages) != 3 || r.Messages[0].Seq != 10 || r.Messages[2].Seq != 12 || r.More {
		t.Fatalf("resume: %+v", r)
	}
	// Not a member: refused.
	if r := f.request(bus.RequestSubject("team"), "mallory", &wire.Frame{Type: wire.TypeSubscribe, Channel: "team"}); r.Code != wire.CodeNotMember {
		t.Fatalf("stranger subscribe: %+v", r)
	}
	// History pages back from the newest.
	r = f.request(bus.RequestSubject("team"), "bob", &wire.Frame{Type: wire.TypeHistory, Channel: "team", Limit: 5})
	if len(r.Messages) != 5 || r.Messages[0].Seq != 12 || !r.More {
		t.Fatalf("history page 1: %+v", r)
	}
	r = f.request(bus.RequestSubject("team"), "bob", &wire.Frame{Type: wire.TypeHistory, Channel: "team", Limit: 5, Before: 8})
	if len(r.Messages) != 5 || r.Messages[0].Seq != 7 || r.Messages[4].Seq != 3 || !r.More {
		t.Fatalf("history page 2: %+v", r)
	}
	// Oldest-first without a cursor starts at the first message.
	r = f.request(bus.RequestSubject("team"), "bob", &wire.Frame{Type: wire.TypeHistory, Channel: "team", Limit: 5, Oldest: true})
	if len(r.Messages) != 5 || r.Messages[0].Seq != 1 || r.Messages[4].Seq != 5 || !r.More {
		t.Fatalf("oldest page: %+v", r)
	}
	r = f.request(bus.RequestSubject("team"), "bob", &wire.Frame{Type: wire.TypeHistory, Channel: "team", Limit: 12, Oldest: true})
	if len(r.Messages) != 12 || r.More {
		t.Fatalf("whole channel oldest-first: %d messages, more %v", len(r.Messages), r.More)
	}
	if r := f.request(bus.RequestSubject("team"), "bob", &wire.Frame{Type: wire.TypeHistory, Channel: "team", Before: 5, Since: 1}); r.Code != wire.CodeBadFrame {
		t.Fatalf("two cursors: %+v", r)
	}
	// Bob reads up to 12: the cursor moves and the channel is told.
	events, _ := f.nc.SubscribeSync(bus.EventSubject("team"))
	f.nc.Flush()
	r = f.request(bus.RequestSubject("team"), "bob", &wire.Frame{Type: wire.TypeReceipt, Channel: "team", Seq: 99, Kind: wire.ReceiptRead})
	if r.Type != wire.TypeAck || r.Seq != 12 {
		t.Fatalf("receipt clamped to last seq: %+v", r)
	}
	m, err := events.NextMsg(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ev wire.Frame
	wire.Msgpack.Decode(m.Data, &ev)
	if ev.Type != wire.TypeReceipt || ev.From != "bob" || ev.Seq != 12 || ev.Kind != wire.ReceiptRead {
		t.Fatalf("receipt event %+v", ev)
	}
}

// A resume replays up to ResumeLimit messages, oldest first, across store
// pages; More says newer ones remain.
func TestResumeReplaysUpToResumeLimit(t *testing.T) {
	f := newFixture(t)
	f.channel("big", "alice", "bob")
	msgs := make([]chat.NewMessage, 700)
	for i := range msgs {
		msgs[i] = chat.NewMessage{Channel: "big", Sender: "alice", ClientID: fmt.Sprint("big", i), Body: []byte("x"), CreatedAt: time.Now()}
	}
	if _, err := f.store.Append(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after, first, last uint64
		more               bool
	}{{50, 51, 550, true}, {200, 201, 700, false}, {300, 301, 700, false}} {
		r := f.request(bus.RequestSubject("big"), "bob", &wire.Frame{Type: wire.TypeSubscribe, Channel: "big", Seq: tc.after})
		var first, last uint64
		if n := len(r.Messages); n > 0 {
			first, last = r.Messages[0].Seq, r.Messages[n-1].Seq
		}
		if r.Type != wire.TypeMessages || len(r.Messages) != int(tc.last-tc.first+1) || first != tc.first || last != tc.last || r.More != tc.more {
			t.Errorf("resume after %d: %d messages %d..%d, more %v", tc.after, len(r.Messages), first, last, r.More)
		}
	}
}
