package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// The monitor's subjects are the server's.
func TestMonitorSubjects(t *testing.T) {
	if presenceSubject != bus.PresenceSubject {
		t.Errorf("presence subject %q, bus has %q", presenceSubject, bus.PresenceSubject)
	}
	if got := strings.TrimSuffix(eventWildcard, ">") + "room-1"; got != bus.EventSubject("room-1") {
		t.Errorf("event wildcard %q does not match %q", eventWildcard, bus.EventSubject("room-1"))
	}
}

// fakeRedis answers INFO with total_commands_processed growing by 10 per
// INFO, in RESP2 ($) or RESP3 verbatim (=) form.
func fakeRedis(t *testing.T, verbatim bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var total atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for range 5 { // *2, $4, INFO, $5, stats
					if _, err := br.ReadString('\n'); err != nil {
						return
					}
				}
				info := fmt.Sprintf("# Stats\r\ntotal_connections_received:3\r\ntotal_commands_processed:%d\r\ninstantaneous_ops_per_sec:0\r\n", total.Add(10))
				if verbatim {
					info = "txt:" + info
					fmt.Fprintf(c, "=%d\r\n%s\r\n", len(info), info)
				} else {
					fmt.Fprintf(c, "$%d\r\n%s\r\n", len(info), info)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestRedisCommandsProcessed(t *testing.T) {
	for _, verbatim := range []bool{false, true} {
		addr := fakeRedis(t, verbatim)
		n1, err := redisCommandsProcessed(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		n2, _ := redisCommandsProcessed(context.Background(), addr)
		if n1 != 10 || n2 != 20 {
			t.Errorf("verbatim %v: %d then %d, want 10 then 20", verbatim, n1, n2)
		}
	}
	if _, err := parseCommandsProcessed("# Stats\r\nuptime:1\r\n"); err == nil {
		t.Error("INFO without the field parsed")
	}
	if _, err := readBulk(bufio.NewReader(strings.NewReader("-ERR unknown command\r\n"))); err == nil {
		t.Error("an error reply read as a bulk string")
	}
}

// Over the active phase the monitor counts edge reports on salam.presence
// and presence frames among the channel events, and reads Redis's command
// count before and after.
func TestMonitor(t *testing.T) {
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	m, err := startMonitor(context.Background(), fakeRedis(t, false), srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for range 3 {
		nc.Publish(bus.PresenceSubject, []byte{0x80})
	}
	presence := wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypePresence, Channel: "g", From: "u", Kind: wire.PresenceOnline})
	event := wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeEvent, Channel: "g", Seq: 1, Data: []byte("hi")})
	for _, b := range [][]byte{presence, presence, event, []byte("not msgpack")} {
		nc.Publish(bus.EventSubject("g"), b)
	}
	nc.Flush()
	deadline := time.Now().Add(5 * time.Second)
	for (m.reports.Load() < 3 || m.events.Load() < 2) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var rep Report
	if err := m.stop(context.Background(), &rep); err != nil {
		t.Fatal(err)
	}
	if m.reports.Load() != 3 || m.events.Load() != 2 {
		t.Errorf("counted %d reports and %d presence events, want 3 and 2", m.reports.Load(), m.events.Load())
	}
	secs := time.Since(m.started).Seconds()
	if rep.NATSPresenceMsgsPerS == nil || *rep.NATSPresenceMsgsPerS*secs < 2.9 || rep.NATSPresenceEventsPerS == nil ||
		rep.RedisCommandsPerS == nil || *rep.RedisCommandsPerS <= 0 {
		t.Errorf("rates: %v %v %v", rep.NATSPresenceMsgsPerS, rep.NATSPresenceEventsPerS, rep.RedisCommandsPerS)
	}
	// Without addresses the monitor measures nothing and reports nothing.
	m, _ = startMonitor(context.Background(), "", "")
	rep = Report{}
	if err := m.stop(context.Background(), &rep); err != nil || rep.RedisCommandsPerS != nil || rep.NATSPresenceMsgsPerS != nil {
		t.Errorf("idle monitor: %v %+v", err, rep)
	}
}
