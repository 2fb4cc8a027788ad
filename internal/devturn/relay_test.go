package devturn

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/rtctest"
)

// Two pion peers allowed only relay candidates reach each other through
// the dev TURN server with minted credentials, and a message crosses.
func TestRelaysBetweenTwoPeers(t *testing.T) {
	srv, err := Start(Config{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, turnURLs := srv.URLs()
	// The loopback engine, without its host address rewrite: relay-only
	// peers gather no host candidates, and pion refuses a rewrite that
	// cannot apply.
	se := rtctest.SettingEngine()
	se.SetNAT1To1IPs(nil, webrtc.ICECandidateTypeHost)
	var media webrtc.MediaEngine
	if err := media.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(&media), webrtc.WithSettingEngine(se))
	peer := func(user string) *webrtc.PeerConnection {
		name, credential, err := auth.MintTURN(srv.Secret, user, time.Minute, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{
			ICEServers:         []webrtc.ICEServer{{URLs: turnURLs, Username: name, Credential: credential}},
			ICETransportPolicy: webrtc.ICETransportPolicyRelay,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		return pc
	}
	a, b := peer("alice"), peer("bob")
	got := make(chan string, 1)
	b.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { got <- string(m.Data) })
	})
	dc, err := a.CreateDataChannel("chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	dc.OnOpen(func() { dc.SendText("salam via turn") })
	// Full (non-trickle) exchange: each side's description carries its relay candidates.
	negotiate := func(from, to *webrtc.PeerConnection, offer bool) {
		var sd webrtc.SessionDescription
		if offer {
			sd, err = from.CreateOffer(nil)
		} else {
			sd, err = from.CreateAnswer(nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		gathered := webrtc.GatheringCompletePromise(from)
		if err := from.SetLocalDescription(sd); err != nil {
			t.Fatal(err)
		}
		select {
		case <-gathered:
		case <-time.After(10 * time.Second):
			t.Fatal("relay candidates not gathered in 10 s")
		}
		if err := to.SetRemoteDescription(*from.LocalDescription()); err != nil {
			t.Fatal(err)
		}
	}
	negotiate(a, b, true)
	negotiate(b, a, false)
	select {
	case m := <-got:
		if m != "salam via turn" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no message through the relay (ICE %s / %s)", a.ICEConnectionState(), b.ICEConnectionState())
	}
	pair, _ := a.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if pair == nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay {
		t.Fatalf("selected pair %v, want a relay candidate", pair)
	}
}
