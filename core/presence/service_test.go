package presence_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/storage/memory"
	"github.com/salamhq/salam/wire"
)

type audience map[string][]string

func (a audience) ChannelsOf(_ context.Context, user string) ([]string, error) { return a[user], nil }

// next returns the next frame on sub.
func next(t *testing.T, sub *nats.Subscription) wire.Frame {
	t.Helper()
	return frameOf(t)(sub.NextMsg(5 * time.Second))
}

// frameOf returns a function that decodes the frame of a message a bus
// call returned, failing t on any error.
func frameOf(t *testing.T) func(*nats.Msg, error) wire.Frame {
	return func(m *nats.Msg, err error) wire.Frame {
		t.Helper()
		var f wire.Frame
		if err == nil {
			err = wire.Msgpack.Decode(m.Data, &f)
		}
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
}

// Reports from an edge turn into presence frames on the user's channels:
// online on join, offline with last seen on leave, and offline on its own
// when the edge stops reporting (it crashed) and the TTL passes.
func TestServiceReportsAndExpiry(t *testing.T) {
	_, nc := startService(t, memory.NewPresence(), audience{"alice": {"dm:ab", "team"}, "bob": {"team"}},
		presence.Config{Window: 50 * time.Millisecond, ExpireEvery: 50 * time.Millisecond})
	dm, _ := nc.SubscribeSync(bus.EventSubject("dm:ab"))
	team, _ := nc.SubscribeSync(bus.EventSubject("team"))
	nc.Flush()
	report := func(r bus.PresenceReport) {
		r.Edge = "edge-1"
		if r.TTL == 0 {
			r.TTL = 30000
		}
		nc.Publish(bus.PresenceSubject, r.AppendMsgpack(nil))
	}

	report(bus.PresenceReport{Joined: []string{"alice"}})
	for _, sub := range []*nats.Subscription{dm, team} {
		if f := next(t, sub); f.Type != wire.TypePresence || f.From != "alice" || f.Kind != wire.PresenceOnline {
			t.Fatalf("online frame %+v", f)
		}
	}
	time.Sleep(100 * time.Millisecond) // past the coalescing window
	report(bus.PresenceReport{Left: []string{"alice"}})
	if f := next(t, dm); f.Kind != wire.PresenceOffline || f.Time == 0 {
		t.Fatalf("offline frame %+v", f)
	}
	// Bob's edge reports him with a 200 ms TTL, then goes silent.
	report(bus.PresenceReport{Online: []string{"bob"}, TTL: 200})
	if f := next(t, team); f.From != "alice" { // alice's offline, still queued on team
		t.Fatalf("team frame %+v", f)
	}
	if f := next(t, team); f.From != "bob" || f.Kind != wire.PresenceOnline {
		t.Fatalf("bob online %+v", f)
	}
	start := time.Now()
	if f := next(t, team); f.From != "bob" || f.Kind != wire.PresenceOffline {
		t.Fatalf("bob expired %+v", f)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("expiry took %v", waited)
	}
}
