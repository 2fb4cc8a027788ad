package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/salamhq/salam/internal/rtctest"
	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// A call of five through the SFU end to end: salam up (edge + core, its
// own SFU disabled) and a separate salam sfu process sharing its NATS.
// Five users join a call, which escalates; each sets up one peer
// connection with the SFU through its WebSocket (core places the room on
// the SFU node, the SFU answers and renegotiates) and receives the four
// others' audio. One unsubscribes from a track with a room request; one
// leaves, and the others get the call's left event, the room's
// track_unpublished and lose its track.
func TestSFUEndToEnd(t *testing.T) {
	data := t.TempDir()
	upCfg, sfuCfg := filepath.Join(data, "up.yaml"), filepath.Join(data, "sfu.yaml")
	os.WriteFile(upCfg, []byte("sfu:\n  disabled: true\ndev_turn:\n  enabled: false\n"), 0o600)
	os.WriteFile(sfuCfg, []byte("sfu:\n  node_id: media1\n  loopback: true\n  heartbeat: 200ms\n"), 0o600)
	up := start(t, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data, "--config", upCfg)
	start(t, "sfu", "--listen", "127.0.0.1:0", "--nats", up.nats, "--data", data, "--config", sfuCfg)

	owner := devToken(t, data, "u0")
	if code := rest(t, up.addr, owner, "POST", "/v1/channels", map[string]any{"id": "sfuroom", "name": "s", "kind": "group"}, nil); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	peers := make([]*sfuPeer, 5)
	for i := range peers {
		user := fmt.Sprintf("u%d", i)
		if i > 0 {
			if code := rest(t, up.addr, owner, "POST", "/v1/channels/sfuroom/members", map[string]any{"user": user}, nil); code != 201 {
				t.Fatalf("add member: %d", code)
			}
		}
		peers[i] = newSFUPeer(t, user)
		peers[i].conn = connect(t, up.addr, devToken(t, data, user))
		go peers[i].conn.Dispatch(peers[i].handle)
	}
	created := peers[0].request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallCreate, Channel: "sfuroom"})
	cid := created.CallID
	for _, p := range peers[1:] {
		p.request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallJoin, CallID: cid})
	}
	explain := func() string {
		var b strings.Builder
		for _, p := range peers {
			b.WriteString(p.describe() + "\n")
		}
		return b.String()
	}
	joinSFU(t, peers, cid, explain)

	// u0 stops receiving u1 (its audio is the publisher's media section 0).
	if _, err := peers[0].try(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomUnsubscribe, CallID: cid, To: "u1", Mid: "0"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "u0's track of u1 to end", func() bool { return peers[0].ended("u1") }, explain)
	if _, err := peers[0].try(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomUnsubscribe, CallID: cid, To: "u1", Mid: "7"}); err == nil ||
		err.(*wire.Error).Code != wire.CodeTrackNotFound {
		t.Errorf("unsubscribe from no track: %v, want track_not_found", err)
	}

	// u4 leaves the call.
	peers[4].request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallLeave, CallID: cid})
	for _, p := range peers[:4] {
		waitFor(t, 10*time.Second, p.user+" to see u4 leave", func() bool {
			return p.event(wire.TypeCall, wire.CallLeft, "u4") != nil && p.event(wire.TypeRoom, wire.RoomTrackUnpublished, "u4") != nil &&
				p.ended("u4")
		}, explain)
	}
}

// sfuPeer is a client with one peer connection to the SFU, publishing Opus.
type sfuPeer struct {
	user string
	pc   *webrtc.PeerConnection
	conn *wsclient.Conn
	sig  sync.Mutex // one offer/answer exchange at a time
	offs chan *wire.Frame

	mu     sync.Mutex
	seq    uint64
	events []*wire.Frame
	recv   map[string]*atomic.Int64 // by publisher (stream id)
	gone   map[string]bool
}

func newSFUPeer(t *testing.T, user string) *sfuPeer {
	api, err := rtctest.API()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &sfuPeer{user: user, pc: pc, offs: make(chan *wire.Frame, 16), recv: map[string]*atomic.Int64{}, gone: map[string]bool{}}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); pc.Close() })
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				track.WriteSample(media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: 20 * time.Millisecond})
			case f := <-p.offs: // the SFU's renegotiation offers, in order
				p.answer(f)
			}
		}
	}()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := new(atomic.Int64)
		p.mu.Lock()
		p.recv[tr.StreamID()] = n
		p.mu.Unlock()
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				p.mu.Lock()
				p.gone[tr.StreamID()] = true
				p.mu.Unlock()
				return
			}
			n.Add(1)
		}
	})
	return p
}

func (p *sfuPeer) request(t *testing.T, f *wire.Frame) *wire.Frame {
	t.Helper()
	reply, err := p.try(f)
	if err != nil {
		t.Fatalf("%s: %+v: %v", p.user, f, err)
	}
	return reply
}

func (p *sfuPeer) try(f *wire.Frame) (*wire.Frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.conn.Request(ctx, f)
}

func (p *sfuPeer) nextSeq() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	return p.seq
}

// join offers to the SFU (no "to") and applies its answer, the reply.
// joinSFU waits until every peer is told call cid escalated, joins each to
// the SFU and waits until everyone receives every other.
func joinSFU(t *testing.T, peers []*sfuPeer, cid string, explain func() string) {
	t.Helper()
	for _, p := range peers {
		waitFor(t, 10*time.Second, p.user+" told the call escalated", func() bool { return p.event(wire.TypeCall, wire.CallEscalated, "") != nil }, explain)
	}
	for _, p := range peers {
		p.join(t, cid)
	}
	waitFor(t, 30*time.Second, fmt.Sprintf("everyone receiving the %d others", len(peers)-1), func() bool {
		for _, p := range peers {
			for _, o := range peers {
				if o != p && p.packets(o.user) < 10 {
					return false
				}
			}
		}
		return true
	}, explain)
}

func (p *sfuPeer) join(t *testing.T, cid string) {
	t.Helper()
	p.sig.Lock()
	defer p.sig.Unlock()
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	p.pc.SetLocalDescription(offer)
	<-gathered
	answer := p.request(t, &wire.Frame{Type: wire.TypeOffer, CallID: cid, Seq: p.nextSeq(), Data: []byte(p.pc.LocalDescription().SDP)})
	if answer.Type != wire.TypeAnswer || answer.From != "" {
		t.Fatalf("%s: SFU reply %+v, want an answer without f", p.user, answer)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer.Data)}); err != nil {
		t.Fatal(err)
	}
}

func (p *sfuPeer) answer(f *wire.Frame) {
	p.sig.Lock()
	defer p.sig.Unlock()
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(f.Data)}); err != nil {
		p.record(&wire.Frame{Type: wire.TypeError, Reason: err.Error()})
		return
	}
	answer, _ := p.pc.CreateAnswer(nil)
	p.pc.SetLocalDescription(answer)
	if _, err := p.try(&wire.Frame{Type: wire.TypeAnswer, CallID: f.CallID, Seq: p.nextSeq(), Data: []byte(answer.SDP)}); err != nil {
		p.record(&wire.Frame{Type: wire.TypeError, Reason: "answer: " + err.Error()})
	}
}

// handle runs on the Dispatch goroutine for frames that are not replies.
func (p *sfuPeer) handle(in *wire.Frame) {
	f := *in
	f.Data = append([]byte(nil), in.Data...)
	f.Users = append([]string(nil), in.Users...)
	if f.Type == wire.TypeOffer {
		p.offs <- &f
		return
	}
	p.record(&f)
}

func (p *sfuPeer) record(f *wire.Frame) {
	p.mu.Lock()
	p.events = append(p.events, f)
	p.mu.Unlock()
}

func (p *sfuPeer) event(typ wire.Type, kind uint8, from string) *wire.Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.events {
		if f.Type == typ && f.Kind == kind && (from == "" || f.From == from) {
			return f
		}
	}
	return nil
}

func (p *sfuPeer) packets(from string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.recv[from]; n != nil {
		return n.Load()
	}
	return 0
}

func (p *sfuPeer) ended(from string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gone[from]
}

func (p *sfuPeer) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: pc %s, signaling %s;", p.user, p.pc.ConnectionState(), p.pc.SignalingState())
	for k, n := range p.recv {
		fmt.Fprintf(&b, " %s=%d(ended %v)", k, n.Load(), p.gone[k])
	}
	for _, f := range p.events {
		fmt.Fprintf(&b, " [%s k=%d f=%s e=%d %s]", f.Type, f.Kind, f.From, f.Code, f.Reason)
	}
	return b.String()
}
