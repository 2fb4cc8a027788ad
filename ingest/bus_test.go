package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
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
