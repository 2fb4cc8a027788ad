package sfu

import (
	"errors"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/wire"
)

// gatherTimeout bounds the wait for the SFU's own ICE candidates, which
// its SDP carries (it does not trickle): host candidates only, so this is
// milliseconds in practice.
const gatherTimeout = 5 * time.Second

// trackKey names a published track: its publisher and the publisher's mid.
type trackKey struct{ pub, mid string }

// participant is one user in a room, with one peer connection (unified
// plan) carrying the tracks it publishes and those it receives. Owned by
// the room's goroutine.
type participant struct {
	room          *room
	user, session string
	pc            *webrtc.PeerConnection

	seq        uint64 // the SFU's signal sequence toward this participant
	negotiated bool   // the participant's first offer was answered
	offering   bool   // an SFU offer awaits its answer
	pending    bool   // renegotiate once the current exchange completes
	scheduled  bool   // a negotiate op is queued

	published    map[string]*upTrack // by mid
	subs         map[trackKey]*downTrack
	unsubscribed map[trackKey]bool // tracks the participant asked not to receive

	role        uint16 // wire.RoleSpeaker or wire.RoleListener
	hand        bool
	muted       bool // its audio is not forwarded
	forcedMuted bool // by a moderator: only a moderator unmutes
	closed      bool

	via   *link  // a stand-in for a participant of another node, whose tracks come over via (relay.go)
	relay *link  // one of a link's peer connections (relay.go), not in the room's participants
	level uint64 // a stand-in's audio loudness (127 - level), as its node last said
}

func newParticipant(r *room, user, session string) (*participant, error) {
	pc, err := r.node.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &participant{room: r, user: user, session: session, pc: pc, role: wire.RoleSpeaker,
		published: make(map[string]*upTrack), subs: make(map[trackKey]*downTrack),
		unsubscribed: make(map[trackKey]bool)}
	pc.OnTrack(func(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		r.enqueue(func() { p.onTrack(track, recv) })
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			r.enqueue(func() { r.leave(p, true) })
		}
	})
	return p, nil
}

// onOffer answers the participant's offer: its first one (publishing its
// tracks), a renegotiation or an ICE restart.
func (p *participant) onOffer(f *wire.Frame) *wire.Frame {
	if p.pc.SignalingState() != webrtc.SignalingStateStable {
		// The SFU is impolite: its outstanding offer wins.
		return errorFrame(f, wire.CodeGlare, "the SFU offered first: roll back and answer")
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(f.Data)}); err != nil {
		return errorFrame(f, wire.CodeBadSDP, "offer refused: "+err.Error())
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return errorFrame(f, wire.CodeBadSDP, "cannot answer: "+err.Error())
	}
	sdp, err := p.setLocal(answer)
	if err != nil {
		return errorFrame(f, wire.CodeInternal, err.Error())
	}
	if !p.negotiated {
		p.negotiated = true
		for _, user := range p.room.order { // what the others already publish
			if o := p.room.parts[user]; o != p && o.role != wire.RoleListener {
				for _, up := range o.published {
					p.room.node.deliver(p.user, p.session, up.publishedEvent())
					p.subscribe(up)
				}
			}
		}
	}
	if p.pending {
		p.negotiateSoon() // after the answer is on its way
	}
	return &wire.Frame{Type: wire.TypeAnswer, CallID: f.CallID, Data: []byte(sdp)}
}

// setLocal sets desc and returns the local SDP with every candidate.
func (p *participant) setLocal(desc webrtc.SessionDescription) (string, error) {
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(desc); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-time.After(gatherTimeout):
		return "", errors.New("sfu: ICE gathering timed out")
	}
	return p.pc.LocalDescription().SDP, nil
}

// onAnswer takes the participant's answer to the SFU's offer.
func (p *participant) onAnswer(f *wire.Frame) *wire.Frame {
	if !p.offering || p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return errorFrame(f, wire.CodeNoOffer, "no outstanding offer from the SFU")
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(f.Data)}); err != nil {
		return errorFrame(f, wire.CodeBadSDP, "answer refused: "+err.Error())
	}
	p.offering = false
	if p.pending {
		p.negotiateSoon()
	}
	return ack(f)
}

func (p *participant) onCandidate(f *wire.Frame) *wire.Frame {
	mid := f.Mid
	if err := p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: string(f.Data), SDPMid: &mid}); err != nil {
		return errorFrame(f, wire.CodeBadSDP, "candidate refused: "+err.Error())
	}
	return ack(f)
}

// negotiateSoon queues one negotiation after the current operation, so
// that the changes of one operation go in one offer, sent after its reply.
func (p *participant) negotiateSoon() {
	if p.scheduled || p.closed {
		return
	}
	p.scheduled = true
	if !p.room.enqueue(func() { p.scheduled = false; p.negotiate() }) {
		p.scheduled = false
	}
}

// negotiate sends the participant an offer describing the tracks it
// receives now, unless an exchange is under way (then it runs after).
func (p *participant) negotiate() {
	if p.closed {
		return
	}
	if !p.negotiated || p.offering || p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.pending = true
		return
	}
	p.pending = false
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		p.room.node.log.Warn("offer", "room", p.room.id, "user", p.user, "err", err)
		return
	}
	sdp, err := p.setLocal(offer)
	if err != nil {
		p.room.node.log.Warn("offer", "room", p.room.id, "user", p.user, "err", err)
		return
	}
	p.offering = true
	p.seq++
	p.room.node.metrics.renegotiations.Inc()
	if p.relay != nil {
		p.relay.sendOffer(sdp)
		return
	}
	p.room.node.deliver(p.user, p.session, &wire.Frame{Type: wire.TypeOffer, Kind: wire.OfferRenegotiate,
		CallID: p.room.id, Seq: p.seq, Data: []byte(sdp)})
}

// onTrack takes one layer of a track the participant publishes.
func (p *participant) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if p.closed {
		return
	}
	mid := ""
	for _, t := range p.pc.GetTransceivers() {
		if t.Receiver() == recv {
			mid = t.Mid()
		}
	}
	up := p.published[mid]
	if up == nil {
		up = newUpTrack(p, mid, track, recv)
		p.published[mid] = up
		up.muted.Store(up.kind == webrtc.RTPCodecTypeAudio && p.muted)
		p.room.node.metrics.tracks.Inc()
		up.addLayer(track)
		p.room.publish(up)
		return
	}
	up.addLayer(track)
	p.room.relayTrack(up) // the new layer
}

// subscribe starts sending up to the participant, unless it receives it
// already or asked not to.
func (p *participant) subscribe(up *upTrack) {
	key := up.key()
	if p.via != nil || p.relay != nil || p.closed || p.subs[key] != nil || p.unsubscribed[key] || up.stopped.Load() {
		return
	}
	dt := newDownTrack(up, p)
	sender, err := p.pc.AddTrack(dt)
	if err != nil {
		p.room.node.log.Warn("add track", "room", p.room.id, "user", p.user, "err", err)
		return
	}
	dt.sender = sender
	p.preferREMB(sender, up)
	p.subs[key] = dt
	up.addDown(dt)
	go dt.readRTCP()
	p.negotiateSoon()
}

// unsubscribe stops sending track key; asked records that the participant
// asked for it (so the track is not added back when it republishes).
func (p *participant) unsubscribe(key trackKey, gone bool) {
	if !gone {
		p.unsubscribed[key] = true
	}
	dt := p.subs[key]
	if dt == nil {
		return
	}
	delete(p.subs, key)
	dt.up.removeDown(dt)
	if !p.closed {
		if err := p.pc.RemoveTrack(dt.sender); err != nil {
			p.room.node.log.Debug("remove track", "room", p.room.id, "user", p.user, "err", err)
		}
		p.negotiateSoon()
	}
}

// close ends the participant's peer connection.
func (p *participant) close() {
	p.closed = true
	if p.via != nil || p.pc == nil { // a stand-in: its link owns the peer connection
		return
	}
	for key, dt := range p.subs {
		dt.up.removeDown(dt)
		delete(p.subs, key)
	}
	if err := p.pc.Close(); err != nil {
		p.room.node.log.Debug("close", "room", p.room.id, "user", p.user, "err", err)
	}
}

// subscriberFeedback is the RTCP feedback the SFU negotiates on the media
// sections it sends: NACK, PLI, FIR and REMB, but not transport-cc, so
// that a browser receiving it estimates its bandwidth itself and reports
// it as REMB, which picks its simulcast layer (the SFU runs no send-side
// estimator). Publishers' sections keep transport-cc.
var subscriberFeedback = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
	{Type: "nack"}, {Type: "nack", Parameter: "pli"}}

// preferREMB offers the publisher's codec alone on sender's media section,
// with subscriberFeedback.
func (p *participant) preferREMB(sender *webrtc.RTPSender, up *upTrack) {
	codec := up.codec
	codec.RTCPFeedback = nil
	if up.kind == webrtc.RTPCodecTypeVideo {
		codec.RTCPFeedback = subscriberFeedback
	}
	for _, tr := range p.pc.GetTransceivers() {
		if tr.Sender() == sender {
			if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{codec}); err != nil {
				p.room.node.log.Debug("codec preferences", "room", p.room.id, "user", p.user, "err", err)
			}
		}
	}
}
