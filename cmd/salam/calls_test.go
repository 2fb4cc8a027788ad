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

// A 1:1 call end to end, the way a mobile client does it, with two real
// pion WebRTC peers on loopback: alice on salam up's edge calls bob, whose
// connection is on a second edge process sharing NATS. Bob is rung and
// accepts; the offer, answer and trickled candidates go through the server;
// both peers reach ICE connected and receive each other's Opus RTP. Then
// bob's WebSocket is cut: he reconnects (to the other edge), resumes the
// call within the grace window, restarts ICE, and media flows again —
// alice never sees him leave. The call's history is then on REST.
func TestCallEndToEnd(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(data, "salam.yaml")
	os.WriteFile(cfg, []byte("calls:\n  reconnect_grace: 15s\n  probe_interval: 1s\n"), 0o600)
	up := start(t, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data, "--config", cfg)
	edge2 := start(t, "edge", "--listen", "127.0.0.1:0", "--nats", up.nats, "--data", data, "--config", cfg)
	aliceTok, bobTok := devToken(t, data, "alice"), devToken(t, data, "bob")
	var dm struct{ ID string }
	if code := rest(t, up.addr, aliceTok, "POST", "/v1/dms", map[string]string{"user": "bob"}, &dm); code != 201 {
		t.Fatalf("open DM: %d", code)
	}
	var ice struct {
		ICEServers []struct {
			URLs       []string `json:"urls"`
			Username   string   `json:"username"`
			Credential string   `json:"credential"`
		} `json:"ice_servers"`
	}
	if code := rest(t, edge2.addr, bobTok, "GET", "/v1/calls/ice-servers", nil, &ice); code != 200 || len(ice.ICEServers) != 2 ||
		!strings.HasPrefix(ice.ICEServers[1].Username, "") || !strings.HasSuffix(ice.ICEServers[1].Username, ":bob") {
		t.Fatalf("ice servers: %d %+v", code, ice)
	}
	var servers []webrtc.ICEServer
	for _, s := range ice.ICEServers { // the dev TURN server on loopback: STUN and TURN with minted credentials
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}

	alice := newCallPeer(t, "alice", servers)
	bob := newCallPeer(t, "bob", servers)
	alice.dial(t, up.addr, aliceTok)
	bob.dial(t, edge2.addr, bobTok)

	created := alice.request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallCreate, Channel: dm.ID})
	cid := created.CallID
	if cid == "" || len(created.Users) != 1 || created.Users[0] != "alice" {
		t.Fatalf("create: %+v", created)
	}
	ring := bob.waitEvent(t, wire.CallRinging)
	if ring.CallID != cid || ring.From != "alice" || ring.Channel != dm.ID {
		t.Fatalf("ringing: %+v", ring)
	}
	accepted := bob.request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallAccept, CallID: cid})
	if len(accepted.Users) != 2 || accepted.Users[0] != "alice" || accepted.Users[1] != "bob" {
		t.Fatalf("accept: %+v", accepted)
	}
	if ev := alice.waitEvent(t, wire.CallAccepted); ev.From != "bob" {
		t.Fatalf("accepted event: %+v", ev)
	}
	// The joiner offers to everyone already in the call.
	bob.offer(t, cid, "alice", false)
	waitFor(t, 15*time.Second, "media both ways", func() bool {
		return alice.connected() && bob.connected() && alice.received.Load() > 25 && bob.received.Load() > 25
	}, alice.describe, bob.describe)

	// Bob's WebSocket is cut; his peer connection lives on, as on a phone
	// that changed networks. He comes back on the other edge and resumes.
	bob.conn.NetConn().Close()
	time.Sleep(300 * time.Millisecond) // the edge notices, core starts his grace
	bob.dial(t, up.addr, bobTok)
	resumed := bob.request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallJoin, CallID: cid})
	if len(resumed.Users) != 2 || resumed.Seq == 0 {
		t.Fatalf("resume: %+v", resumed)
	}
	bob.setSeq(resumed.Seq)
	before := alice.received.Load()
	ufrag := alice.remoteUfrag()
	bob.offer(t, cid, "alice", true)
	waitFor(t, 15*time.Second, "ICE restarted", func() bool { return alice.remoteUfrag() != ufrag && alice.connected() }, alice.describe, bob.describe)
	waitFor(t, 15*time.Second, "media after the restart", func() bool { return alice.received.Load() > before+25 })
	bob.waitMedia(t, 25)
	if ev := alice.seen(wire.CallLeft); ev != nil {
		t.Fatalf("alice saw bob leave during his reconnect: %+v", ev)
	}

	bob.request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallLeave, CallID: cid})
	if ev := alice.waitEvent(t, wire.CallLeft); ev.From != "bob" {
		t.Fatalf("left: %+v", ev)
	}
	end := alice.request(t, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallLeave, CallID: cid})
	if end.EndReason != wire.EndEmpty {
		t.Fatalf("last leave: %+v, want the call ended (empty)", end)
	}
	var history struct {
		Calls []struct {
			ID, Caller   string
			EndReason    string `json:"end_reason"`
			DurationMS   int64  `json:"duration_ms"`
			Participants []struct{ User string }
		}
	}
	waitFor(t, 5*time.Second, "the call in history", func() bool {
		rest(t, edge2.addr, bobTok, "GET", "/v1/channels/"+dm.ID+"/calls", nil, &history)
		return len(history.Calls) == 1 && history.Calls[0].EndReason == "empty"
	})
	if h := history.Calls[0]; h.ID != cid || h.Caller != "alice" || h.DurationMS <= 0 || len(h.Participants) != 2 {
		t.Fatalf("history: %+v", h)
	}
}

// callPeer is one user's client: a WebSocket session and a pion peer
// connection, with the signaling a client does (sequence numbers, trickle
// ICE held until the description it belongs to is sent).
type callPeer struct {
	user     string
	servers  []webrtc.ICEServer
	pc       *webrtc.PeerConnection
	received atomic.Int64 // RTP packets received

	mu      sync.Mutex
	conn    *wsclient.Conn
	seq     uint64
	ready   bool          // our description went out: candidates may follow
	held    []*wire.Frame // candidates waiting for it
	remote  bool          // the remote description is set
	pending []webrtc.ICECandidateInit
	to      string
	call    string
	events  []*wire.Frame
	notify  chan struct{}
}

func newCallPeer(t *testing.T, user string, servers []webrtc.ICEServer) *callPeer {
	api, err := rtctest.API()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: servers})
	if err != nil {
		t.Fatal(err)
	}
	p := &callPeer{user: user, servers: servers, pc: pc, notify: make(chan struct{}, 1)}
	t.Cleanup(func() { pc.Close() })
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() { // 20 ms Opus frames (a silent TOC byte is enough for RTP)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				track.WriteSample(media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: 20 * time.Millisecond})
			}
		}
	}()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			p.received.Add(1)
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		f := &wire.Frame{Type: wire.TypeEndOfCandidates}
		if c != nil {
			init := c.ToJSON()
			f = &wire.Frame{Type: wire.TypeCandidate, Data: []byte(init.Candidate), Mid: deref(init.SDPMid)}
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.ready {
			p.held = append(p.held, f)
			return
		}
		p.sendLocked(f)
	})
	return p
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (p *callPeer) dial(t *testing.T, addr, token string) {
	t.Helper()
	c := connect(t, addr, token)
	p.mu.Lock()
	p.conn = c
	p.mu.Unlock()
	go c.Dispatch(p.handle)
}

// request sends a call action and returns its reply.
func (p *callPeer) request(t *testing.T, f *wire.Frame) *wire.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	reply, err := c.Request(ctx, f)
	if err != nil {
		t.Fatalf("%s: %+v: %v", p.user, f, err)
	}
	return reply
}

func (p *callPeer) setSeq(s uint64) {
	p.mu.Lock()
	p.seq = s
	p.mu.Unlock()
}

// sendLocked sends a signaling frame with the next sequence number, in
// order; its ack is ignored and an error is recorded by handle.
func (p *callPeer) sendLocked(f *wire.Frame) {
	p.seq++
	f.Seq, f.CallID, f.To, f.ID = p.seq, p.call, p.to, p.conn.NextID()
	if err := p.conn.Send(f); err != nil {
		p.events = append(p.events, &wire.Frame{Type: wire.TypeError, Reason: err.Error(), Kind: uint8(f.Type)})
	}
}

// offer creates and sends an offer (an ICE restart when restart is set).
func (p *callPeer) offer(t *testing.T, call, to string, restart bool) {
	t.Helper()
	sdp, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.call, p.to, p.ready = call, to, false
	p.mu.Unlock()
	if err := p.pc.SetLocalDescription(sdp); err != nil {
		t.Fatal(err)
	}
	kind := wire.OfferInitial
	if restart {
		kind = wire.OfferICERestart
	}
	p.mu.Lock()
	p.sendLocked(&wire.Frame{Type: wire.TypeOffer, Kind: kind, Data: []byte(sdp.SDP)})
	p.flushLocked()
	p.mu.Unlock()
}

func (p *callPeer) flushLocked() {
	p.ready = true
	for _, f := range p.held {
		p.sendLocked(f)
	}
	p.held = nil
}

// handle runs on the Dispatch goroutine for every frame that is not a reply.
func (p *callPeer) handle(in *wire.Frame) {
	f := *in
	f.Data = append([]byte(nil), in.Data...)
	switch f.Type {
	case wire.TypeOffer:
		p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(f.Data)})
		answer, err := p.pc.CreateAnswer(nil)
		if err != nil {
			p.record(&wire.Frame{Type: wire.TypeError, Reason: err.Error()})
			return
		}
		p.mu.Lock()
		p.call, p.to, p.ready = f.CallID, f.From, false
		p.mu.Unlock()
		p.pc.SetLocalDescription(answer)
		p.mu.Lock()
		p.sendLocked(&wire.Frame{Type: wire.TypeAnswer, Data: []byte(answer.SDP)})
		p.flushLocked()
		p.setRemoteLocked()
		p.mu.Unlock()
	case wire.TypeAnswer:
		p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(f.Data)})
		p.mu.Lock()
		p.setRemoteLocked()
		p.mu.Unlock()
	case wire.TypeCandidate:
		mid := f.Mid
		c := webrtc.ICECandidateInit{Candidate: string(f.Data), SDPMid: &mid}
		p.mu.Lock()
		if p.remote {
			p.pc.AddICECandidate(c)
		} else {
			p.pending = append(p.pending, c)
		}
		p.mu.Unlock()
	case wire.TypeEndOfCandidates, wire.TypeAck:
	default:
		p.record(&f)
	}
}

func (p *callPeer) setRemoteLocked() {
	p.remote = true
	for _, c := range p.pending {
		p.pc.AddICECandidate(c)
	}
	p.pending = nil
}

func (p *callPeer) record(f *wire.Frame) {
	p.mu.Lock()
	p.events = append(p.events, f)
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// seen returns the first recorded call event of kind, or nil.
func (p *callPeer) seen(kind uint8) *wire.Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.events {
		if f.Type == wire.TypeCall && f.Kind == kind {
			return f
		}
		if f.Type == wire.TypeError {
			panic(p.user + ": signaling error: " + f.Reason)
		}
	}
	return nil
}

func (p *callPeer) waitEvent(t *testing.T, kind uint8) *wire.Frame {
	t.Helper()
	var f *wire.Frame
	waitFor(t, 10*time.Second, p.user+" call event", func() bool { f = p.seen(kind); return f != nil })
	return f
}

func (p *callPeer) waitMedia(t *testing.T, packets int64) {
	t.Helper()
	from := p.received.Load()
	waitFor(t, 15*time.Second, p.user+" receives RTP", func() bool {
		return p.connected() && p.received.Load() >= from+packets
	}, p.describe)
}

func (p *callPeer) connected() bool {
	s := p.pc.ICEConnectionState()
	return s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted
}

func (p *callPeer) remoteUfrag() string {
	d := p.pc.RemoteDescription()
	if d == nil {
		return ""
	}
	for _, line := range strings.Split(d.SDP, "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return u
		}
	}
	return ""
}

// describe tells the peer's state, for failures.
func (p *callPeer) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var evs []string
	for _, f := range p.events {
		evs = append(evs, fmt.Sprintf("%s k=%d f=%s e=%d %s", f.Type, f.Kind, f.From, f.Code, f.Reason))
	}
	return fmt.Sprintf("%s: ICE %s, signaling %s, %d packets, seq %d, events %v", p.user, p.pc.ICEConnectionState(),
		p.pc.SignalingState(), p.received.Load(), p.seq, evs)
}

// waitFor polls cond every 20 ms until it holds or within passes; then the
// test fails with what and the state explain returns.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool, explain ...func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			for _, e := range explain {
				what += "\n" + e()
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
