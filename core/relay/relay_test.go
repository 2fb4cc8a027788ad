package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// env is an embedded NATS server, a started relay on its own connection,
// and an edge connection to send requests from.
type env struct {
	srv   *server.Server
	svc   *Service
	reg   *prometheus.Registry
	relay *nats.Conn
	edge  *nats.Conn
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	e := &env{srv: srv, reg: prometheus.NewRegistry()}
	e.relay = connect(t, srv, "relay")
	e.edge = connect(t, srv, "edge")
	if e.svc, err = New(e.relay, cfg, log, e.reg); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.svc.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return e
}

func connect(t testing.TB, srv *server.Server, name string) *nats.Conn {
	t.Helper()
	nc, err := bus.Connect(bus.Config{Name: name}, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// request sends p on its channel's publish subject and decodes the reply.
func request(t testing.TB, nc *nats.Conn, p bus.Publish) bus.PublishReply {
	t.Helper()
	return requestRaw(t, nc, bus.PublishSubject(p.Channel), p.AppendMsgpack(nil))
}

func requestRaw(t testing.TB, nc *nats.Conn, subject string, payload []byte) bus.PublishReply {
	t.Helper()
	m, err := nc.Request(subject, payload, 10*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	var r bus.PublishReply
	if err := r.DecodeMsgpack(m.Data); err != nil {
		t.Fatalf("reply: %v", err)
	}
	return r
}

// checkFor calls f every interval until it returns nil, failing the test
// with f's last error after timeout.
func checkFor(t testing.TB, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}

func TestSequencesPerChannel(t *testing.T) {
	e := newEnv(t, Config{})
	want := map[string]uint64{}
	for _, ch := range []string{"a", "b", "a", "c", "a", "b"} {
		want[ch]++
		r := request(t, e.edge, bus.Publish{Channel: ch, From: "alice", Data: []byte("x")})
		if r.Code != 0 || r.Seq != want[ch] {
			t.Fatalf("channel %s: reply %+v, want seq %d", ch, r, want[ch])
		}
		if now := time.Now().UnixMilli(); r.Time <= 0 || r.Time > now {
			t.Fatalf("reply time %d, now %d", r.Time, now)
		}
	}
}

// The event is on the bus with the publish's fields, and reaches a
// subscriber on the publisher's own connection no later than the ack.
func TestEventBeforeAck(t *testing.T) {
	e := newEnv(t, Config{})
	sub, err := e.edge.SubscribeSync(bus.EventSubject("room1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.edge.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		p := bus.Publish{Channel: "room1", From: "alice", MsgID: fmt.Sprintf("m-%d", i),
			Session: "s1", Data: []byte(fmt.Sprintf("hello %d", i)), Received: time.Now().UnixNano()}
		r := request(t, e.edge, p)
		if n, _, _ := sub.Pending(); n != 1 {
			t.Fatalf("publish %d: %d events pending when the ack arrived, want 1", i, n)
		}
		m, err := sub.NextMsg(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var ev bus.Event
		if err := ev.DecodeMsgpack(m.Data); err != nil {
			t.Fatal(err)
		}
		want := bus.Event{Channel: "room1", Seq: uint64(i), From: "alice", MsgID: p.MsgID, Time: r.Time, Data: p.Data}
		if ev.Channel != want.Channel || ev.Seq != want.Seq || ev.From != want.From || ev.MsgID != want.MsgID ||
			ev.Time != want.Time || string(ev.Data) != string(want.Data) {
			t.Fatalf("event %+v, want %+v", ev, want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, Config{})
	valid := bus.Publish{Channel: "room1", From: "alice", Data: []byte("x")}
	tests := []struct {
		name    string
		subject string
		payload []byte
		code    wire.Code
	}{
		{"garbage", bus.PublishSubject("room1"), []byte("not msgpack"), wire.CodeBadFrame},
		{"empty payload", bus.PublishSubject("room1"), nil, wire.CodeBadFrame},
		{"truncated", bus.PublishSubject("room1"), valid.AppendMsgpack(nil)[:5], wire.CodeBadFrame},
		{"empty channel", bus.PublishSubject("room1"), (&bus.Publish{From: "a"}).AppendMsgpack(nil), wire.CodeBadChannel},
		{"channel with space", bus.PublishSubject("room1"), (&bus.Publish{Channel: "a b"}).AppendMsgpack(nil), wire.CodeBadChannel},
		{"channel with dot", bus.PublishSubject("room1"), (&bus.Publish{Channel: "a.b"}).AppendMsgpack(nil), wire.CodeBadChannel},
		{"channel too long", bus.PublishSubject("room1"), (&bus.Publish{Channel: string(make([]byte, 129))}).AppendMsgpack(nil), wire.CodeBadChannel},
		{"subject mismatch", bus.PublishSubject("room2"), valid.AppendMsgpack(nil), wire.CodeBadChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := requestRaw(t, e.edge, tt.subject, tt.payload)
			if r.Code != tt.code || r.Seq != 0 || r.Reason == "" {
				t.Errorf("reply %+v, want code %v with a reason", r, tt.code)
			}
		})
	}
	// Refused requests consumed no sequence.
	if r := request(t, e.edge, valid); r.Seq != 1 {
		t.Errorf("first valid publish got seq %d, want 1", r.Seq)
	}
}

func TestTooLarge(t *testing.T) {
	e := newEnv(t, Config{})
	// A request that fits in max_payload whose event, a few bytes larger, does not.
	max := int(e.edge.MaxPayload())
	p := bus.Publish{Channel: "room1", Data: make([]byte, max-16)}
	enc := p.AppendMsgpack(nil)
	if len(enc) > max {
		t.Fatalf("request of %d bytes over max_payload %d", len(enc), max)
	}
	if r := requestRaw(t, e.edge, bus.PublishSubject("room1"), enc); r.Code != wire.CodeTooLarge {
		t.Fatalf("reply %+v, want CodeTooLarge", r)
	}
	if r := request(t, e.edge, bus.Publish{Channel: "room1"}); r.Seq != 1 {
		t.Errorf("seq after a refused publish %d, want 1", r.Seq)
	}
}

// Many publishers at once: every channel's sequences are exactly 1..n, and
// its events arrive in sequence order.
func TestConcurrentPublishersGapFree(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			e := newEnv(t, Config{Workers: workers})
			chans := []string{"a", "b", "c"}
			const publishers, each = 12, 60

			// Events of each channel, in arrival order.
			var evMu sync.Mutex
			events := map[string][]uint64{}
			watcher := connect(t, e.srv, "watcher")
			for _, ch := range chans {
				_, err := watcher.Subscribe(bus.EventSubject(ch), func(m *nats.Msg) {
					var ev bus.Event
					if err := ev.DecodeMsgpack(m.Data); err != nil {
						t.Error(err)
						return
					}
					evMu.Lock()
					events[ev.Channel] = append(events[ev.Channel], ev.Seq)
					evMu.Unlock()
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := watcher.Flush(); err != nil {
				t.Fatal(err)
			}

			var mu sync.Mutex
			acked := map[string][]uint64{}
			var wg sync.WaitGroup
			for g := range publishers {
				nc := connect(t, e.srv, fmt.Sprintf("edge-%d", g))
				wg.Go(func() {
					for i := range each {
						ch := chans[(g+i)%len(chans)]
						r := request(t, nc, bus.Publish{Channel: ch, From: "u", Data: []byte{byte(i)}})
						mu.Lock()
						acked[ch] = append(acked[ch], r.Seq)
						mu.Unlock()
					}
				})
			}
			wg.Wait()

			total := 0
			for _, ch := range chans {
				seqs := slices.Sorted(slices.Values(acked[ch]))
				for i, s := range seqs {
					if s != uint64(i+1) {
						t.Fatalf("channel %s: sorted acked seqs %v are not 1..%d", ch, seqs, len(seqs))
					}
				}
				total += len(seqs)
			}
			if total != publishers*each {
				t.Fatalf("%d acks, want %d", total, publishers*each)
			}
			checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
				evMu.Lock()
				defer evMu.Unlock()
				for _, ch := range chans {
					if len(events[ch]) != len(acked[ch]) {
						return fmt.Errorf("channel %s: %d events, %d acks", ch, len(events[ch]), len(acked[ch]))
					}
				}
				return nil
			})
			evMu.Lock()
			defer evMu.Unlock()
			for _, ch := range chans {
				for i, s := range events[ch] {
					if s != uint64(i+1) {
						t.Fatalf("channel %s: event %d has seq %d: events out of order", ch, i, s)
					}
				}
			}
		})
	}
}

// Stop answers every request the relay already received, then stops taking
// new ones.
func TestStopDrains(t *testing.T) {
	e := newEnv(t, Config{Workers: 2})
	inbox := nats.NewInbox()
	replies, err := e.edge.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		p := bus.Publish{Channel: fmt.Sprintf("ch%d", i%7), Data: []byte("x")}
		if err := e.edge.PublishRequest(bus.PublishSubject(p.Channel), inbox, p.AppendMsgpack(nil)); err != nil {
			t.Fatal(err)
		}
	}
	// After the flush the server has routed every request to the relay.
	if err := e.edge.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m, err := replies.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("reply %d of %d: %v", i, n, err)
		}
		var r bus.PublishReply
		if err := r.DecodeMsgpack(m.Data); err != nil || r.Code != 0 {
			t.Fatalf("reply %d: %+v, %v", i, r, err)
		}
	}
	if _, err := e.edge.Request(bus.PublishSubject("ch0"), nil, time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("request after Stop: err %v, want ErrNoResponders", err)
	}
	if err := e.svc.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := e.svc.Start(); !errors.Is(err, ErrStopped) {
		t.Errorf("Start after Stop: %v, want ErrStopped", err)
	}
}

func TestStopOnClosedConnection(t *testing.T) {
	e := newEnv(t, Config{Workers: 3})
	e.relay.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStartTwice(t *testing.T) {
	e := newEnv(t, Config{})
	if err := e.svc.Start(); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start: %v, want ErrStarted", err)
	}
}

func TestNewValidates(t *testing.T) {
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc := connect(t, srv, "x")
	if _, err := New(nil, Config{}, nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil conn: %v", err)
	}
	for _, w := range []int{-1, MaxWorkers + 1} {
		if _, err := New(nc, Config{Workers: w}, nil, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("workers %d: %v", w, err)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := New(nc, Config{}, nil, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(nc, Config{}, nil, reg); err == nil {
		t.Error("second registration on one registry succeeded")
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, Config{})
	for range 3 {
		request(t, e.edge, bus.Publish{Channel: "a"})
	}
	request(t, e.edge, bus.Publish{Channel: "b"})
	requestRaw(t, e.edge, bus.PublishSubject("a"), []byte{0xc1})

	// The duration is observed after the reply is sent: poll.
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := gather(t, e.reg)["salam_relay_handle_duration_seconds_count"]; got != 5 {
			return fmt.Errorf("%v handle durations observed, want 5", got)
		}
		return nil
	})
	got := gather(t, e.reg)
	want := map[string]float64{
		"salam_relay_publishes_total{code=ok}":        4,
		"salam_relay_publishes_total{code=bad_frame}": 1,
		"salam_relay_channels":                        2,
		"salam_relay_handle_duration_seconds_count":   5,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// gather flattens reg's metrics into "name{label=value}" → value; a
// histogram contributes its sample count as name_count.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.Counter != nil:
				got[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				got[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				got[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return got
}
