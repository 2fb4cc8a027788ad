package calls_test

import (
	"testing"
	"time"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/wire"
)

// frames returns the frames of type typ node received from user, with
// the home hint of each.
func (s *fakeSFU) from(typ wire.Type, user string) (n int, homes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.got {
		if f.Type == typ && s.reqs[i].User == user {
			n++
			homes = append(homes, s.reqs[i].Home)
		}
	}
	return n, homes
}

func (s *fakeSFU) count(match func(*wire.Frame, string) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i, f := range s.got {
		if match(f, s.reqs[i].User) {
			n++
		}
	}
	return n
}

// TestSFURoomSpread: with sfu_room_spread 2, the first two participants to
// reach the SFU are placed on the room's home node, the next two on the
// least loaded other node, the next on a third; frames to a node but home
// carry the home node. A moderator's request about a participant goes to
// that participant's node, the mode to every node (one reply), a leave to
// the leaver's node, the call's end to every node.
func TestSFURoomSpread(t *testing.T) {
	f := newFixture(t, calls.Config{SFUThreshold: 2, SFURoomSpread: 2, SFULiveness: 2 * time.Second})
	f.channel("g", "a", "b", "c", "d", "e")
	a, b, c, d, e := f.client("a"), f.client("b"), f.client("c"), f.client("d"), f.client("e")
	home, mid, busy := f.fakeSFU("home"), f.fakeSFU("mid"), f.fakeSFU("busy")
	home.announce(0, false)
	mid.announce(5, false)
	busy.announce(9, false)
	time.Sleep(50 * time.Millisecond) // the heartbeats reach core (another NATS connection's subscription)

	id := f.call("g", a, b)
	for _, p := range []*client{c, d, e} {
		f.call2(id, p)
	}
	want := map[*client]*fakeSFU{a: home, b: home, c: mid, d: mid, e: busy}
	for _, p := range []*client{a, b, c, d, e} {
		wantAck(t, p.user+"'s offer", p.signal(wire.TypeOffer, id, "", sdpOffer))
	}
	for p, node := range want {
		for _, other := range []*fakeSFU{home, mid, busy} {
			n, homes := other.from(wire.TypeOffer, p.user)
			switch {
			case other != node && n != 0:
				t.Errorf("%s's offer reached %s, want only %s", p.user, other.node, node.node)
			case other == node && n != 1:
				t.Errorf("%s's offer: %d at %s, want 1", p.user, n, node.node)
			case other == node && node != home && homes[0] != "home":
				t.Errorf("%s's offer at %s carries home %q, want home", p.user, node.node, homes[0])
			case other == node && node == home && homes[0] != "":
				t.Errorf("%s's offer at home carries home %q", p.user, homes[0])
			}
		}
	}
	wantAck(t, "c's candidate", c.candidate(id, ""))
	if n, _ := mid.from(wire.TypeCandidate, "c"); n != 1 {
		t.Errorf("c's candidate did not follow it to its node")
	}

	// The owner (a, on home) mutes e (on busy): to busy, From stamped.
	wantAck(t, "mute e", a.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomMute, CallID: id, To: "e"}))
	if fr, req := busy.last(wire.TypeRoom); fr == nil || fr.Kind != wire.RoomMute || req.User != "a" || fr.From != "a" || req.Home != "home" {
		t.Fatalf("mute at e's node: %+v %+v", fr, req)
	}
	// c raises its hand: its own node.
	wantAck(t, "c's hand", c.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomRaiseHand, CallID: id}))
	if fr, req := mid.last(wire.TypeRoom); fr == nil || fr.Kind != wire.RoomRaiseHand || req.User != "c" {
		t.Fatalf("c's hand at its node: %+v %+v", fr, req)
	}
	// The mode: every node, one reply.
	wantAck(t, "stage", a.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetMode, CallID: id, Limit: wire.ModeStage}))
	for _, node := range []*fakeSFU{home, mid, busy} {
		waitCount(t, node, "the mode at "+node.node, func(fr *wire.Frame, user string) bool {
			return fr.Type == wire.TypeRoom && fr.Kind == wire.RoomSetMode && user == "a"
		})
	}

	// d leaves: its node is told.
	d.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallLeave, CallID: id})
	waitCount(t, mid, "d's leave at its node", func(fr *wire.Frame, user string) bool {
		return fr.Type == wire.TypeCall && fr.Kind == wire.CallLeft && user == "d"
	})
	if n := home.count(func(fr *wire.Frame, user string) bool { return fr.Type == wire.TypeCall && user == "d" }); n != 0 {
		t.Errorf("home was told of d's leave")
	}

	// The owner hangs up for everyone: every node of the room is told.
	a.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallEnd, CallID: id})
	for _, node := range []*fakeSFU{home, mid, busy} {
		waitCount(t, node, "the end at "+node.node, func(fr *wire.Frame, _ string) bool {
			return fr.Type == wire.TypeCall && fr.Kind == wire.CallEnded
		})
	}
}

func waitCount(t *testing.T, node *fakeSFU, what string, match func(*wire.Frame, string) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for node.count(match) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSFURoomSpreadRehome: when a spread room's home node stops, the live
// node of the room with most participants becomes home and is told (a call
// frame CallEscalated without a home hint); the dead node's participants
// are placed again, with the new home.
func TestSFURoomSpreadRehome(t *testing.T) {
	f := newFixture(t, calls.Config{SFUThreshold: 2, SFURoomSpread: 1, SFULiveness: 2 * time.Second})
	f.channel("g", "a", "b", "c")
	a, b, c := f.client("a"), f.client("b"), f.client("c")
	home, leaf, spare := f.fakeSFU("home"), f.fakeSFU("leaf"), f.fakeSFU("spare")
	home.announce(0, false)
	leaf.announce(1, false)
	time.Sleep(50 * time.Millisecond) // the heartbeats reach core

	id := f.call("g", a, b)
	f.call2(id, c)
	wantAck(t, "a's offer", a.signal(wire.TypeOffer, id, "", sdpOffer))
	wantAck(t, "b's offer", b.signal(wire.TypeOffer, id, "", sdpOffer))
	if n, homes := leaf.from(wire.TypeOffer, "b"); n != 1 || homes[0] != "home" {
		t.Fatalf("b's offer at the leaf: %d %v", n, homes)
	}

	home.announce(0, true) // stops
	spare.announce(0, false)
	time.Sleep(50 * time.Millisecond)
	wantAck(t, "b's candidate", b.candidate(id, ""))
	waitCount(t, leaf, "the leaf told it is home", func(fr *wire.Frame, _ string) bool {
		return fr.Type == wire.TypeCall && fr.Kind == wire.CallEscalated
	})
	if fr, req := leaf.last(wire.TypeCall); req.Home != "" {
		t.Errorf("the new home was told home %q (%+v)", req.Home, fr)
	}
	if n, homes := leaf.from(wire.TypeCandidate, "b"); n != 1 || homes[0] != "" {
		t.Errorf("b's candidate at the new home: %d %v, want no home hint", n, homes)
	}
	wantAck(t, "a's new offer", a.signal(wire.TypeOffer, id, "", sdpOffer))
	if n, homes := spare.from(wire.TypeOffer, "a"); n != 1 || homes[0] != "leaf" {
		t.Errorf("a placed again: %d offers at spare with homes %v, want 1 with home leaf", n, homes)
	}
}
