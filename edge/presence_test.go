package edge

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// The edge reports a user's first connection and last disconnection within
// presenceFlush, once per user whatever their number of devices, and all
// its users every beat.
func TestPresenceReports(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PresenceBeat = 300 * time.Millisecond })
	reports, _ := f.nc.SubscribeSync(bus.PresenceSubject)
	f.nc.Flush()
	until := func(pred func(bus.PresenceReport) bool) bus.PresenceReport {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			m, err := reports.NextMsg(time.Second)
			if err == nats.ErrTimeout {
				continue
			} else if err != nil {
				t.Fatal(err)
			}
			var r bus.PresenceReport
			if err := r.DecodeMsgpack(m.Data); err != nil {
				t.Fatal(err)
			}
			if pred(r) {
				return r
			}
		}
		t.Fatal("no such report")
		return bus.PresenceReport{}
	}
	phone := f.client("alice", wsclient.Options{})
	laptop := f.client("alice", wsclient.Options{})
	r := until(func(r bus.PresenceReport) bool { return slices.Contains(r.Joined, "alice") })
	if r.Edge == "" || r.TTL != 900 {
		t.Fatalf("report %+v", r)
	}
	until(func(r bus.PresenceReport) bool { return slices.Contains(r.Online, "alice") }) // the beat
	phone.Close()
	laptop.Close()
	until(func(r bus.PresenceReport) bool { return slices.Contains(r.Left, "alice") })
}

// A presence query goes to core on PresenceQuerySubject as the asking
// user's request, and core's answer (states or an error) comes back with
// the client's request id, in the client's codec.
func TestPresenceQueryForwarded(t *testing.T) {
	f := newFixture(t, nil)
	sub, err := f.nc.QueueSubscribe(bus.PresenceQuerySubject, bus.QueueCore, func(m *nats.Msg) {
		var req bus.Request
		var q wire.Frame
		if req.DecodeMsgpack(m.Data) != nil || wire.Msgpack.Decode(req.Frame, &q) != nil || q.Type != wire.TypePresence {
			t.Errorf("bad query on the bus")
			return
		}
		reply := wire.Frame{Type: wire.TypePresence}
		if len(q.Users) > 2 {
			reply = wire.Frame{Type: wire.TypeError, Code: wire.CodeTooManyUsers, Reason: "at most 2 users per presence query"}
		}
		for _, u := range q.Users { // answers who asked, to check the edge names the user
			reply.Presences = append(reply.Presences, wire.Presence{User: u, Kind: wire.PresenceOnline, Status: "asked by " + req.User})
		}
		m.Respond(wire.Msgpack.Append(nil, &reply))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	f.nc.Flush()
	for _, opt := range []wsclient.Options{{}, {Subprotocol: wire.SubprotocolJSON}} {
		c := f.client("alice", opt)
		got, err := c.Call(ctx(t), &wire.Frame{Type: wire.TypePresence, ID: 41, Users: []string{"bob", "carol"}}, nil)
		if err != nil || got.ID != 41 || got.Type != wire.TypePresence || len(got.Presences) != 2 ||
			got.Presences[1] != (wire.Presence{User: "carol", Kind: wire.PresenceOnline, Status: "asked by alice"}) {
			t.Fatalf("%s: %+v, %v", c.Subprotocol(), got, err)
		}
		_, err = c.Call(ctx(t), &wire.Frame{Type: wire.TypePresence, ID: 42, Users: []string{"a", "b", "c"}}, nil)
		if we, ok := err.(*wire.Error); !ok || we.Code != wire.CodeTooManyUsers {
			t.Fatalf("%s: over the limit: %v, want too_many_users", c.Subprotocol(), err)
		}
	}
}

// Presence queries have a rate of their own per connection: past the burst
// they are refused with rate_limited and never reach core.
func TestPresenceQueryRateLimited(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PresenceQueryRate, c.PresenceQueryBurst = 0.01, 2 })
	var asked atomic.Int32
	sub, err := f.nc.QueueSubscribe(bus.PresenceQuerySubject, bus.QueueCore, func(m *nats.Msg) {
		asked.Add(1)
		m.Respond(wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypePresence, Presences: []wire.Presence{{User: "bob"}}}))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	f.nc.Flush()
	c := f.client("alice", wsclient.Options{})
	for i := range 3 {
		_, err := c.Call(ctx(t), &wire.Frame{Type: wire.TypePresence, Users: []string{"bob"}}, nil)
		if we, ok := err.(*wire.Error); (i < 2 && err != nil) || (i == 2 && (!ok || we.Code != wire.CodeRateLimited)) {
			t.Fatalf("query %d: %v", i+1, err)
		}
	}
	if n := asked.Load(); n != 2 {
		t.Fatalf("core asked %d times, want 2", n)
	}
}

// Without a core, a query fails at once with unavailable; with a core that
// does not answer, with timeout after the request timeout. The connection
// stays usable.
func TestPresenceQueryWithoutAnswer(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client("alice", wsclient.Options{})
	_, err := c.Call(ctx(t), &wire.Frame{Type: wire.TypePresence, ID: 4, Users: []string{"bob"}}, nil)
	if we, ok := err.(*wire.Error); !ok || we.Code != wire.CodeUnavailable {
		t.Fatalf("no core: %v, want unavailable", err)
	}
	sub, _ := f.nc.QueueSubscribe(bus.PresenceQuerySubject, bus.QueueCore, func(*nats.Msg) {})
	defer sub.Unsubscribe()
	f.nc.Flush()
	start := time.Now()
	_, err = c.Call(ctx(t), &wire.Frame{Type: wire.TypePresence, ID: 5, Users: []string{"bob"}}, nil)
	if we, ok := err.(*wire.Error); !ok || we.Code != wire.CodeTimeout || time.Since(start) > 5*time.Second {
		t.Fatalf("silent core: %v after %v, want timeout", err, time.Since(start))
	}
	if _, err := c.Call(ctx(t), &wire.Frame{Type: wire.TypePing}, nil); err != nil {
		t.Fatalf("ping after the failures: %v", err)
	}
}
