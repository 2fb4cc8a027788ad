package sfu

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/wire"
)

// TestBadInput: what a client (through core) or a broken request sends the
// SFU is answered with a typed error, never a crash or a lingering room.
func TestBadInput(t *testing.T) {
	srv, nc := bustest.Start(t)
	node := startNodeOn(t, srv)
	c := newTestClient(t, srv, "n1-bad", "u0")
	c.owner = "u0"

	m, err := nc.Request(bus.SFUSignalSubject, []byte{0xc1}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var reply wire.Frame
	if wire.Msgpack.Decode(m.Data, &reply) != nil || reply.Code != wire.CodeBadFrame {
		t.Errorf("malformed request: %+v, want bad_frame", reply)
	}
	for _, tc := range []struct {
		name string
		f    *wire.Frame
		want wire.Code
	}{
		{"answer before any offer", &wire.Frame{Type: wire.TypeAnswer, Data: []byte("v=0")}, wire.CodeOutOfOrder},
		{"candidate before any offer", &wire.Frame{Type: wire.TypeCandidate, Data: []byte("candidate:1 1 udp 1 127.0.0.1 9 typ host")}, wire.CodeOutOfOrder},
		{"room request before any offer", &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomRaiseHand}, wire.CodeOutOfOrder},
		{"an offer that is not SDP", &wire.Frame{Type: wire.TypeOffer, Data: []byte("hello")}, wire.CodeBadSDP},
	} {
		if _, err := c.request(tc.f); wireCode(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	waitFor(t, 5*time.Second, "no room left behind", func() bool { return node.Rooms() == 0 })
	c.call = "not a call id"
	if _, err := c.request(&wire.Frame{Type: wire.TypeOffer, Data: []byte("v=0")}); wireCode(err) != wire.CodeCallNotFound {
		t.Errorf("bad call id: %v, want call_not_found", err)
	}
	c.call = "n1-bad"

	c.publish(webrtc.RTPCodecTypeAudio)
	c.join()
	for _, tc := range []struct {
		name string
		f    *wire.Frame
		want wire.Code
	}{
		{"an answer without an SFU offer", &wire.Frame{Type: wire.TypeAnswer, Data: []byte("v=0")}, wire.CodeNoOffer},
		{"a bad candidate", &wire.Frame{Type: wire.TypeCandidate, Data: []byte("candidate:x")}, wire.CodeBadSDP},
		{"an unknown room request", &wire.Frame{Type: wire.TypeRoom, Kind: 99}, wire.CodeBadFrame},
		{"pause a track not received", &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomPause, To: "u0", Mid: "0"}, wire.CodeTrackNotFound},
		{"a frame type the SFU does not take", &wire.Frame{Type: wire.TypePublish}, wire.CodeBadFrame},
	} {
		if _, err := c.request(tc.f); wireCode(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if _, err := c.request(&wire.Frame{Type: wire.TypeEndOfCandidates}); err != nil {
		t.Errorf("end of candidates: %v", err)
	}
}
