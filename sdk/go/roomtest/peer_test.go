package roomtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	salam "github.com/salamhq/salam/sdk/go"
)

// loopbackAPI is a pion API that only ever uses loopback: this machine
// allows no other traffic, and pion otherwise offers every interface's
// address and mDNS names. (The same settings as the server's
// internal/rtctest, which another module cannot import.)
func loopbackAPI(t testing.TB) *webrtc.API {
	var se webrtc.SettingEngine
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNAT1To1IPs([]string{"127.0.0.1"}, webrtc.ICECandidateTypeHost)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	var m webrtc.MediaEngine
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(se))
}

// peer is an app as the SDK's README describes it: a salam.Client and one
// pion peer connection with the SFU, publishing Opus, that offers first and
// answers the SFU's renegotiation offers (OnSignal, From "") in order.
type peer struct {
	t    testing.TB
	user string
	c    *salam.Client
	pc   *webrtc.PeerConnection
	call atomic.Value // string: the call whose SFU it talks to

	hold atomic.Bool // keep the SFU's next offer in held instead of answering it (glare test)

	mu      sync.Mutex
	rooms   []salam.RoomEvent
	calls   []salam.CallEvent
	errs    []error
	held    *salam.Signal
	answers int                      // SFU answers applied
	offers  int                      // SFU offers answered
	recv    map[string]*atomic.Int64 // packets received, by publisher (stream id)
	ended   map[string]bool          // publisher whose track stopped (removed by renegotiation)
}

func newPeer(t *testing.T, s *server, user string) *peer {
	t.Helper()
	pc, err := loopbackAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, user: user, pc: pc, recv: map[string]*atomic.Int64{}, ended: map[string]bool{}}
	p.call.Store("")
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // 20 ms of Opus silence, 50 times a second
		defer wg.Done()
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
		pub, _ := url.PathUnescape(tr.StreamID()) // the publisher's user id, escaped (PROTOCOL.md §22)
		n := new(atomic.Int64)
		p.mu.Lock()
		p.recv[pub] = n
		delete(p.ended, pub)
		p.mu.Unlock()
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				p.mu.Lock()
				if p.recv[pub] == n {
					p.ended[pub] = true
				}
				p.mu.Unlock()
				return
			}
			n.Add(1)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.c, err = salam.Dial(ctx, salam.Config{
		URL: s.url(), Token: salam.StaticToken(s.token(t, user)),
		Backoff: salam.Backoff{Initial: 20 * time.Millisecond, Max: 300 * time.Millisecond},
		OnRoom:  func(e salam.RoomEvent) { p.mu.Lock(); p.rooms = append(p.rooms, e); p.mu.Unlock() },
		OnCall:  func(e salam.CallEvent) { p.mu.Lock(); p.calls = append(p.calls, e); p.mu.Unlock() },
		OnError: p.fail,
		// On the dispatcher goroutine: the SFU's frames in order, each
		// applied (and an offer answered) before the next.
		OnSignal: p.onSignal,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		p.c.Close()
		pc.Close()
	})
	return p
}

func (p *peer) fail(err error) {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
}

func (p *peer) onSignal(s salam.Signal) {
	if s.From != "" || s.Call != p.call.Load().(string) {
		return // not the SFU's
	}
	switch s.Kind {
	case salam.SignalAnswer:
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.SDP}); err != nil {
			p.fail(fmt.Errorf("SFU answer: %w", err))
			return
		}
		p.mu.Lock()
		p.answers++
		p.mu.Unlock()
	case salam.SignalOffer:
		if p.hold.Load() {
			p.mu.Lock()
			p.held = &s
			p.mu.Unlock()
			return
		}
		p.answer(s)
	}
}

// answer applies an SFU offer and sends the answer.
func (p *peer) answer(s salam.Signal) {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: s.SDP}); err != nil {
		p.fail(fmt.Errorf("SFU offer: %w", err))
		return
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		p.fail(fmt.Errorf("answering the SFU: %w", err))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.c.CallAnswer(ctx, s.Call, "", answer.SDP); err != nil {
		p.fail(fmt.Errorf("CallAnswer to the SFU: %w", err))
		return
	}
	p.mu.Lock()
	p.offers++
	p.mu.Unlock()
}

// localOffer creates an offer with every candidate in it (the SFU does not
// take trickled candidates before it answers).
func (p *peer) localOffer(t testing.TB) string {
	t.Helper()
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return p.pc.LocalDescription().SDP
}

// join offers to the SFU of call and waits until its answer is applied.
func (p *peer) join(t testing.TB, ctx context.Context, call string) {
	t.Helper()
	p.call.Store(call)
	if err := p.c.CallOffer(ctx, call, "", salam.OfferInitial, p.localOffer(t)); err != nil {
		t.Fatalf("%s: offer to the SFU: %v", p.user, err)
	}
	waitFor(t, 10*time.Second, p.user+"'s SFU answer applied", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.answers > 0
	}, p.describe)
}

// room returns the first room event of kind from user ("" any) that
// matches, if any.
func (p *peer) room(kind salam.RoomEventKind, from string, match ...func(salam.RoomEvent) bool) (salam.RoomEvent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.rooms {
		if e.Kind == kind && (from == "" || e.From == from) && (len(match) == 0 || match[0](e)) {
			return e, true
		}
	}
	return salam.RoomEvent{}, false
}

// waitRoom waits for a room event of kind from user and returns it.
func (p *peer) waitRoom(t testing.TB, kind salam.RoomEventKind, from string, match ...func(salam.RoomEvent) bool) salam.RoomEvent {
	t.Helper()
	var ev salam.RoomEvent
	waitFor(t, 15*time.Second, fmt.Sprintf("%s to see %s from %s", p.user, kind, from), func() bool {
		var ok bool
		ev, ok = p.room(kind, from, match...)
		return ok
	}, p.describe)
	return ev
}

func (p *peer) callEvent(kind salam.CallEventKind, from string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.ContainsFunc(p.calls, func(e salam.CallEvent) bool { return e.Kind == kind && (from == "" || e.From == from) })
}

func (p *peer) packets(from string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.recv[from]; n != nil && !p.ended[from] {
		return n.Load()
	}
	return 0
}

func (p *peer) stopped(from string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ended[from]
}

func (p *peer) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: pc %s, signaling %s, %d answers, %d offers answered;", p.user, p.pc.ConnectionState(),
		p.pc.SignalingState(), p.answers, p.offers)
	for k, n := range p.recv {
		fmt.Fprintf(&b, " %s=%d(ended %v)", k, n.Load(), p.ended[k])
	}
	for _, e := range p.rooms {
		fmt.Fprintf(&b, " [%s f=%s mid=%s]", e.Kind, e.From, e.Mid)
	}
	for _, err := range p.errs {
		fmt.Fprintf(&b, " err: %v", err)
	}
	return b.String()
}
