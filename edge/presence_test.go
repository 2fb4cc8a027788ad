package edge

import (
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/wsclient"
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
