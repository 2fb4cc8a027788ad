package calls_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// fakeSFU is an SFU node as core sees it: heartbeats, and the frames sent
// to its subject, each answered with an ack.
type fakeSFU struct {
	f    *fixture
	node string
	mu   sync.Mutex
	got  []*wire.Frame
	reqs []bus.Request
}

func (f *fixture) fakeSFU(node string) *fakeSFU {
	s := &fakeSFU{f: f, node: node}
	if _, err := f.nc.Subscribe(bus.SFUNodeSubject(node), func(m *nats.Msg) {
		var req bus.Request
		fr := new(wire.Frame)
		if req.DecodeMsgpack(m.Data) != nil || wire.Msgpack.Decode(req.Frame, fr) != nil {
			return
		}
		s.mu.Lock()
		s.got, s.reqs = append(s.got, fr), append(s.reqs, req)
		s.mu.Unlock()
		if m.Reply != "" {
			m.Respond(wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeAck, CallID: fr.CallID}))
		}
	}); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (s *fakeSFU) announce(participants int, stopping bool) {
	data, _ := json.Marshal(bus.SFUAnnounce{Node: s.node, Participants: participants, MaxRooms: 10, Stopping: stopping})
	s.f.nc.Publish(bus.SFUAnnounceSubject, data)
	s.f.nc.Flush()
}

// last returns the last frame of type typ the node received, or nil.
func (s *fakeSFU) last(typ wire.Type) (*wire.Frame, bus.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.got) - 1; i >= 0; i-- {
		if s.got[i].Type == typ {
			return s.got[i], s.reqs[i]
		}
	}
	return nil, bus.Request{}
}

// TestSFUPlacement: an escalated call's SFU-bound frames go to the live SFU
// node with the fewest participants, room requests stamped with the
// call's owner; a node that stops announcing loses new frames to the
// other; leaves are told to the room; room requests need an escalated call
// and a participant.
func TestSFUPlacement(t *testing.T) {
	f := newFixture(t, calls.Config{SFUThreshold: 2, SFULiveness: time.Second})
	f.channel("g", "a", "b", "c", "d")
	a, b, c, d := f.client("a"), f.client("b"), f.client("c"), f.client("d")
	busy, idle := f.fakeSFU("busy"), f.fakeSFU("idle")
	busy.announce(50, false)
	idle.announce(3, false)
	time.Sleep(50 * time.Millisecond) // the heartbeats reach core (another NATS connection's subscription)

	p2p := f.call("g", a, b)
	wantCode(t, "a room request in a peer-to-peer call",
		a.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomRaiseHand, CallID: p2p}), wire.CodeWrongState)
	f.call2(p2p, c) // escalates
	wantAck(t, "offer to the SFU", a.signal(wire.TypeOffer, p2p, "", sdpOffer))
	if fr, req := idle.last(wire.TypeOffer); fr == nil || req.User != "a" || req.Session != "s-a" {
		t.Fatalf("the offer did not reach the idle node: %+v %+v", fr, req)
	}
	if fr, _ := busy.last(wire.TypeOffer); fr != nil {
		t.Fatal("the offer reached the busy node")
	}
	wantAck(t, "a room request", b.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomRaiseHand, CallID: p2p, From: "b"}))
	if fr, req := idle.last(wire.TypeRoom); fr == nil || fr.From != "a" || req.User != "b" {
		t.Fatalf("room request at the node: %+v %+v, want From a (the owner) for user b", fr, req)
	}
	wantCode(t, "a room request from a stranger",
		d.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomRaiseHand, CallID: p2p}), wire.CodeNotInCall)

	b.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallLeave, CallID: p2p})
	deadline := time.Now().Add(5 * time.Second)
	for fr, req := idle.last(wire.TypeCall); fr == nil || fr.Kind != wire.CallLeft || req.User != "b"; fr, req = idle.last(wire.TypeCall) {
		if time.Now().After(deadline) {
			t.Fatal("the room was not told b left")
		}
		time.Sleep(10 * time.Millisecond)
	}

	idle.announce(3, true) // stopping: the room moves to the other node
	time.Sleep(50 * time.Millisecond)
	wantAck(t, "candidate to the SFU", a.candidate(p2p, ""))
	if fr, _ := busy.last(wire.TypeCandidate); fr == nil {
		t.Fatal("after the idle node stopped, the candidate did not reach the busy node")
	}
}

// TestSFUKickLeavesCall: the owner's kick reaches the SFU and takes the
// target out of the call (the others see it leave, and it can no longer act
// in the call); a kick by anyone else is only forwarded, for the SFU to
// refuse.
func TestSFUKickLeavesCall(t *testing.T) {
	f := newFixture(t, calls.Config{SFUThreshold: 2, SFULiveness: time.Second})
	f.channel("g", "a", "b", "c")
	a, b, c := f.client("a"), f.client("b"), f.client("c")
	node := f.fakeSFU("media1")
	node.announce(0, false)
	time.Sleep(50 * time.Millisecond) // the heartbeat reaches core

	id := f.call("g", a, b)
	f.call2(id, c) // escalates
	wantAck(t, "b's kick", b.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomKick, CallID: id, To: "c"}))
	wantAck(t, "c still in the call", c.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomRaiseHand, CallID: id}))

	wantAck(t, "the owner's kick", a.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomKick, CallID: id, To: "c"}))
	if fr, req := node.last(wire.TypeRoom); fr == nil || fr.Kind != wire.RoomKick || fr.To != "c" || req.User != "a" {
		t.Fatalf("kick at the node: %+v %+v", fr, req)
	}
	if left := b.wait("c left", func(fr *wire.Frame) bool {
		return fr.Type == wire.TypeCall && fr.Kind == wire.CallLeft && fr.From == "c"
	}); left == nil {
		t.Fatal("b was not told c left")
	}
	wantCode(t, "a room request from the kicked participant",
		c.do(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomRaiseHand, CallID: id}), wire.CodeNotInCall)
}
