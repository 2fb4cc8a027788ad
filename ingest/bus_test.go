package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/internal/observe"
)

// TestNATSKeys: the key check over NATS sends the key's SHA-256 only, maps
// core's answers to StreamInfo, ErrBadKey or a check failure, and fails
// (not as a bad key) when no core answers.
func TestNATSKeys(t *testing.T) {
	_, nc := bustest.Start(t)
	keys := NATSKeys{NC: nc}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := keys.CheckKey(ctx, "live_x"); err == nil || errors.Is(err, ErrBadKey) {
		t.Errorf("no core: %v, want a check failure", err)
	}
	// Core's side, as core/live answers (its own test: core/live TestKeyCheck).
	sub, err := nc.Subscribe(bus.LiveKeySubject, func(m *nats.Msg) {
		var req bus.LiveKeyCheck
		json.Unmarshal(m.Data, &req)
		reply := bus.LiveKeyReply{Error: bus.LiveKeyBad}
		switch string(req.Hash) {
		case string(sha256Of("live_good")):
			reply = bus.LiveKeyReply{Stream: "show", User: "alice", Record: true}
		case string(sha256Of("live_dbdown")):
			reply = bus.LiveKeyReply{Error: "store unavailable"}
		}
		data, _ := json.Marshal(reply)
		m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if info, err := keys.CheckKey(ctx, "live_good"); err != nil || info != (StreamInfo{Name: "show", UserID: "alice", Record: true}) {
		t.Errorf("good key: %+v %v", info, err)
	}
	if _, err := keys.CheckKey(ctx, "live_bad"); !errors.Is(err, ErrBadKey) {
		t.Errorf("bad key: %v", err)
	}
	if _, err := keys.CheckKey(ctx, "live_dbdown"); err == nil || errors.Is(err, ErrBadKey) {
		t.Errorf("core failing: %v, want a check failure", err)
	}
}

// TestNATSLifecycle: start and stop events, with the stop's reason.
func TestNATSLifecycle(t *testing.T) {
	_, nc := bustest.Start(t)
	got := make(chan bus.LiveEvent, 10)
	sub, err := nc.Subscribe(bus.LiveEventSubject, func(m *nats.Msg) {
		var ev bus.LiveEvent
		json.Unmarshal(m.Data, &ev)
		got <- ev
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Flush()
	l := &NATSLifecycle{NC: nc, Node: "n1"}
	info := StreamInfo{Name: "show", UserID: "alice"}
	l.Started(info)
	l.Stopped(info, io.EOF)
	l.Stopped(info, ErrStalled)
	for _, want := range []bus.LiveEvent{{Type: bus.LiveStart, Stream: "show", User: "alice", Node: "n1"},
		{Type: bus.LiveStop, Stream: "show", User: "alice", Node: "n1", Reason: "ended"},
		{Type: bus.LiveStop, Stream: "show", User: "alice", Node: "n1", Reason: ErrStalled.Error()}} {
		select {
		case ev := <-got:
			ev.At = 0
			if ev != want {
				t.Errorf("event %+v, want %+v", ev, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event %+v", want)
		}
	}
}

// TestAnswerInspect: the console's streams request is answered with every
// stream and its figures.
func TestAnswerInspect(t *testing.T) {
	_, nc := bustest.Start(t)
	s, err := New(Options{Keys: keyMap{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	stop, err := s.AnswerInspect(nc, "ingest-1")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	started := time.UnixMilli(1_700_000_000_000)
	st := &stream{info: StreamInfo{Name: "show", UserID: "alice"}, started: started, done: make(chan struct{})}
	st.stats.bytes.Store(1000)
	st.stats.keyInterval.Store(int64(2 * time.Second))
	st.stats.fps.Store(math.Float64bits(30))
	st.stats.bitrate.Store(math.Float64bits(2.5e6))
	st.viewers.touch("10.0.0.1", "Safari", time.Now())
	s.mu.Lock()
	s.streams["show"] = st
	s.mu.Unlock()
	m, err := nc.Request(observe.InspectStreamsSubject, nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got observe.IngestStreams
	if err := json.Unmarshal(m.Data, &got); err != nil {
		t.Fatal(err)
	}
	want := observe.IngestStream{Name: "show", User: "alice", Started: started.UnixMilli(), Bitrate: 2.5e6, FPS: 30,
		KeyframeIntervalMs: 2000, Bytes: 1000, HLSViewers: 1}
	if got.Node != "ingest-1" || len(got.Streams) != 1 || got.Streams[0] != want {
		t.Errorf("got %+v, want one stream %+v", got, want)
	}
}
