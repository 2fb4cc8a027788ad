package sfu

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/wire"
)

func startNodeOn(t testing.TB, srv *server.Server) *Node {
	t.Helper()
	return startNodeReg(t, srv, nil, Config{Loopback: true})
}

func startNodeReg(t testing.TB, srv *server.Server, reg prometheus.Registerer, cfg Config) *Node {
	t.Helper()
	nc, err := bus.Connect(bus.Config{}, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, nc, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

// TestRoomFiveClients: five clients join a room, each publishing one
// synthetic track, and each receives the four others'; one unsubscribes
// from a track and stops receiving it; one leaves and the others are told
// and lose its track.
func TestRoomFiveClients(t *testing.T) { testRoomFiveClients(t, Config{Loopback: true}) }

// TestRoomFiveClientsUDPMux: the same with every peer connection on the
// node's one UDP port, its writes batched (udp_port, batch_write_*).
func TestRoomFiveClientsUDPMux(t *testing.T) {
	port := freeUDPPort(t)
	node := testRoomFiveClients(t, Config{Loopback: true, UDPPort: uint16(port)})
	if got := node.mux.LocalAddr().String(); got != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Errorf("the mux listens on %s, want 127.0.0.1:%d", got, port)
	}
	node.Stop() // closes the port: it can be bound again
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatalf("udp_port %d still bound after Stop: %v", port, err)
	}
	_ = c.Close()
}

func testRoomFiveClients(t *testing.T, cfg Config) *Node {
	srv, _ := bustest.Start(t)
	reg := prometheus.NewRegistry()
	node := startNodeReg(t, srv, reg, cfg)
	const call = "n1-room1"
	clients := make([]*testClient, 5)
	for i := range clients {
		c := newTestClient(t, srv, call, fmt.Sprintf("u%d", i))
		c.owner = "u0"
		kind := webrtc.RTPCodecTypeAudio
		if i%2 == 0 {
			kind = webrtc.RTPCodecTypeVideo
		}
		c.publish(kind)
		clients[i] = c
	}
	start := time.Now()
	for _, c := range clients {
		c.join()
	}
	t.Logf("joined after %v", time.Since(start))
	explain := describeAll(clients)
	waitAllReceive(t, clients)
	t.Logf("all tracks flowing after %v", time.Since(start))
	if cfg.UDPPort != 0 { // every client's candidates of the SFU are the one port
		for _, c := range clients {
			seen := 0
			for _, st := range c.pc.GetStats() {
				if cand, ok := st.(webrtc.ICECandidateStats); ok && cand.Type == webrtc.StatsTypeRemoteCandidate {
					seen++
					if cand.Port != int32(cfg.UDPPort) {
						t.Errorf("%s: the SFU's candidate %s:%d, want port %d", c.user, cand.IP, cand.Port, cfg.UDPPort)
					}
				}
			}
			if seen == 0 {
				t.Errorf("%s: no candidate of the SFU in its stats", c.user)
			}
		}
	}
	for _, c := range clients {
		for _, o := range clients {
			if o != c && c.event(wire.RoomTrackPublished, o.user) == nil {
				t.Errorf("%s was not told that %s published", c.user, o.user)
			}
		}
	}

	// Per-track stats and forwarding counters reach the metrics (once a second).
	waitFor(t, 5*time.Second, "per-track metrics of the 5 tracks", func() bool {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		tracks, forwarded := 0, 0.0
		for _, fam := range families {
			switch fam.GetName() {
			case "salam_sfu_track_packets":
				for _, m := range fam.GetMetric() {
					if m.GetGauge().GetValue() > 0 {
						tracks++
					}
				}
			case "salam_sfu_rtp_forwarded_total":
				forwarded = fam.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return tracks == 5 && forwarded > 0
	})

	// u0 unsubscribes from u1's track: the SFU removes it by renegotiation.
	if _, err := clients[0].request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomUnsubscribe, To: "u1", Mid: "0"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "u0's track from u1 to end", func() bool { return clients[0].trackEnded("u1/0") }, explain)
	if _, err := clients[0].request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomUnsubscribe, To: "u9", Mid: "0"}); wireCode(err) != wire.CodeTrackNotFound {
		t.Errorf("unsubscribe from a stranger's track: %v, want track_not_found", err)
	}
	t.Logf("unsubscribed after %v", time.Since(start))
	for _, o := range clients[2:] { // the others still flow
		before := clients[0].packets(o.user + "/0")
		waitFor(t, 5*time.Second, "u0 to keep receiving "+o.user, func() bool { return clients[0].packets(o.user+"/0") > before+5 }, explain)
	}

	// u4 leaves (core tells the SFU): the others are told and its track is removed.
	clients[4].notice(wire.CallLeft)
	for _, c := range clients[:4] {
		waitFor(t, 10*time.Second, c.user+" to lose u4's track", func() bool {
			return c.event(wire.RoomTrackUnpublished, "u4") != nil && c.trackEnded("u4/0")
		}, explain)
	}
	t.Logf("left after %v", time.Since(start))
	for _, c := range clients {
		c.mu.Lock()
		if len(c.errs) > 0 {
			t.Errorf("%s: %v", c.user, c.errs)
		}
		c.mu.Unlock()
	}
	if n := node.Rooms(); n != 1 {
		t.Errorf("rooms = %d, want 1", n)
	}
	return node
}

func wireCode(err error) wire.Code {
	if e, ok := err.(*wire.Error); ok {
		return e.Code
	}
	return 0
}

// TestResumeOnNewSession: a participant that comes back on a new
// connection (a resumed call) starts over with a fresh offer; the SFU
// replaces its old peer connection, the others lose its old track and
// receive the new one, and frames from the old session are refused.
func TestResumeOnNewSession(t *testing.T) {
	srv, _ := bustest.Start(t)
	startNodeOn(t, srv)
	const call = "n1-resume"
	a := newTestClient(t, srv, call, "a")
	b := newTestClient(t, srv, call, "b")
	a.publish(webrtc.RTPCodecTypeAudio)
	b.publish(webrtc.RTPCodecTypeAudio)
	a.join()
	b.join()
	waitFor(t, 10*time.Second, "a hears b", func() bool { return a.packets("b/0") > 5 }, a.describe, b.describe)

	b2 := newTestClient(t, srv, call, "b")
	b2.session = "s-b-2"
	b2.publish(webrtc.RTPCodecTypeAudio)
	b2.join()
	waitFor(t, 10*time.Second, "a hears b's new connection", func() bool {
		return a.event(wire.RoomTrackUnpublished, "b") != nil && a.packets("b/0") > 5 && !a.trackEnded("b/0") &&
			b2.packets("a/0") > 5
	}, a.describe, b2.describe)
	if _, err := b.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomRaiseHand}); wireCode(err) != wire.CodeNotInCall {
		t.Errorf("a request from the replaced session: %v, want not_in_call", err)
	}
}
