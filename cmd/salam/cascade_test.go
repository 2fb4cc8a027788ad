package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/wire"
)

// A call of four over two SFU processes (calls.sfu_threshold 3,
// sfu_room_spread 2): salam up (edge + core, its own SFU disabled) and two
// salam sfu processes on its NATS. Core places the first two participants
// on the room's home node and the next two on the other, which links to
// home and relays; everyone receives the three others' audio. The owner
// (on home) force-mutes a participant of the other node, whose audio stops
// for everyone; a participant of the other node leaves and the others lose
// its track.
func TestSFUCascadeEndToEnd(t *testing.T) {
	data := t.TempDir()
	upCfg := filepath.Join(data, "up.yaml")
	os.WriteFile(upCfg, []byte("sfu:\n  disabled: true\ndev_turn:\n  enabled: false\ncalls:\n  sfu_threshold: 3\n  sfu_room_spread: 2\n"), 0o600)
	up := start(t, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data, "--config", upCfg)
	nodes := make([]*proc, 2)
	for i := range nodes {
		cfg := filepath.Join(data, fmt.Sprintf("sfu%d.yaml", i))
		os.WriteFile(cfg, fmt.Appendf(nil, "sfu:\n  node_id: media%d\n  loopback: true\n  heartbeat: 200ms\n", i+1), 0o600)
		nodes[i] = start(t, "sfu", "--listen", "127.0.0.1:0", "--nats", up.nats, "--data", data, "--config", cfg)
	}
	time.Sleep(500 * time.Millisecond) // both nodes' heartbeats reach core (no way to ask it)

	owner := devToken(t, data, "u0")
	if code := rest(t, up.addr, owner, "POST", "/v1/channels", map[string]any{"id": "cascade", "name": "c", "kind": "group"}, nil); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	peers := make([]*sfuPeer, 4)
	for i := range peers {
		user := fmt.Sprintf("u%d", i)
		if i > 0 {
			if code := rest(t, up.addr, owner, "POST", "/v1/channels/cascade/members", map[string]any{"user": user}, nil); code != 201 {
				t.Fatalf("add member: %d", code)
			}
		}
		peers[i] = newSFUPeer(t, user)
		peers[i].conn = connect(t, up.addr, devToken(t, data, user))
		go peers[i].conn.Dispatch(peers[i].handle)
	}
	cid := peers[0].request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallCreate, Channel: "cascade"}).CallID
	for _, p := range peers[1:] {
		p.request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallJoin, CallID: cid})
	}
	explain := func() string {
		var b strings.Builder
		for _, p := range peers {
			b.WriteString(p.describe() + "\n")
		}
		for i, n := range nodes {
			fmt.Fprintf(&b, "media%d: participants %v relays %v\n", i+1, metric(n.addr, "salam_sfu_participants"), metric(n.addr, "salam_sfu_relays"))
		}
		return b.String()
	}
	joinSFU(t, peers, cid, explain)
	for i, n := range nodes { // two participants and one link on each node
		if parts, relays := metric(n.addr, "salam_sfu_participants"), metric(n.addr, "salam_sfu_relays"); parts != 2 || relays != 1 {
			t.Fatalf("media%d: %v participants, %v relays, want 2 and 1\n%s", i+1, parts, relays, explain())
		}
	}

	// The owner, on the home node, mutes u3, on the other.
	peers[0].request(t, &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomMute, CallID: cid, To: "u3"})
	for _, p := range peers[:3] {
		waitFor(t, 10*time.Second, p.user+" told u3 is muted", func() bool { return p.event(wire.TypeRoom, wire.RoomMuted, "u3") != nil }, explain)
	}
	for _, p := range peers[:3] {
		last, since := p.packets("u3"), time.Now()
		waitFor(t, 10*time.Second, p.user+" to stop receiving u3", func() bool {
			if n := p.packets("u3"); n != last {
				last, since = n, time.Now()
			}
			return time.Since(since) > 300*time.Millisecond
		}, explain)
	}

	// u2, on the other node, leaves the call.
	peers[2].request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallLeave, CallID: cid})
	for _, p := range []*sfuPeer{peers[0], peers[1], peers[3]} {
		waitFor(t, 10*time.Second, p.user+" to see u2 leave", func() bool {
			return p.event(wire.TypeCall, wire.CallLeft, "u2") != nil && p.event(wire.TypeRoom, wire.RoomTrackUnpublished, "u2") != nil &&
				p.ended("u2")
		}, explain)
	}
}

// metric reads an unlabelled gauge or counter of a process's /metrics (-1
// when absent).
func metric(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}
