package sfu

import (
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/wire"
)

// downTrack sends one published track to one subscriber: a pion TrackLocal
// whose packets are the publisher's, rewritten (SSRC, payload type,
// sequence numbers and timestamps made continuous across simulcast layer
// switches). The forwarding loops of the track's layers call write; the
// subscriber's RTCP is read by readRTCP.
type downTrack struct {
	up     *upTrack
	sub    *participant
	sender *webrtc.RTPSender

	pinned int8 // relay.go: 1 + the one layer a relay's down-track sends; 0 = a subscriber's, layers chosen

	bound    atomic.Pointer[binding]
	paused   atomic.Bool
	maxLayer atomic.Int32  // the subscriber's cap (RoomMaxLayer), default the highest
	estimate atomic.Uint64 // the subscriber's bandwidth estimate (REMB), bits/s; 0 = none

	mu sync.Mutex // guards the rewrite state below
	rewriter

	rtx retransmitter // owned by readRTCP
}

// binding is what pion's Bind hands the track: where and how to write.
type binding struct {
	ssrc  uint32
	pt    uint8
	clock uint32
	w     webrtc.TrackLocalWriter
}

func newDownTrack(up *upTrack, sub *participant) *downTrack {
	dt := &downTrack{up: up, sub: sub}
	dt.maxLayer.Store(maxLayers - 1)
	dt.current, dt.target = -1, dt.chooseTarget()
	return dt
}

var _ webrtc.TrackLocal = (*downTrack)(nil)

// ID is the track id the subscriber sees: the publisher's mid.
func (dt *downTrack) ID() string {
	if dt.pinned > 0 { // a relay's: the far node names the layer from it
		return relayTrackID(dt.up.mid, int(dt.pinned-1))
	}
	return dt.up.mid
}

// StreamID is the stream id the subscriber (or a relay's far node) sees:
// the publisher's user id, path-escaped, since the SDP's msid that carries
// it is split at spaces, which user ids may hold (plain ids are unchanged).
func (dt *downTrack) StreamID() string { return url.PathEscape(dt.up.pub.user) }

// RID is empty: a subscriber receives one layer.
func (dt *downTrack) RID() string { return "" }

// Kind is the publisher's track kind.
func (dt *downTrack) Kind() webrtc.RTPCodecType { return dt.up.kind }

// Bind picks the subscriber's codec matching the publisher's.
func (dt *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	want := dt.up.codec
	var found *webrtc.RTPCodecParameters
	for i, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		if found == nil || c.SDPFmtpLine == want.SDPFmtpLine {
			found = &ctx.CodecParameters()[i]
		}
	}
	if found == nil {
		return webrtc.RTPCodecParameters{}, ErrNoCodec
	}
	dt.bound.Store(&binding{ssrc: uint32(ctx.SSRC()), pt: uint8(found.PayloadType), clock: found.ClockRate,
		w: ctx.WriteStream()})
	dt.mu.Lock()
	target := dt.target
	dt.mu.Unlock()
	dt.up.requestKeyframe(target)
	return *found, nil
}

// Unbind stops writing.
func (dt *downTrack) Unbind(webrtc.TrackLocalContext) error {
	dt.bound.Store(nil)
	return nil
}

// write forwards one packet of layer idx; it reports whether it was sent.
// It allocates nothing.
func (dt *downTrack) write(idx int, h *rtp.Header, payload []byte, key bool, now int64) bool {
	b := dt.bound.Load()
	if b == nil || dt.paused.Load() {
		return false
	}
	dt.mu.Lock()
	out, switched, ok := dt.rewrite(idx, h, key, now, b.clock)
	if !ok {
		dt.mu.Unlock()
		if idx == dt.targetLocked() && !key {
			dt.up.requestKeyframe(idx)
		}
		return false
	}
	out.PayloadType, out.SSRC = b.pt, b.ssrc
	_, err := b.w.WriteRTP(out, payload)
	dt.mu.Unlock()
	if switched {
		dt.switched(idx)
	}
	return err == nil
}

func (dt *downTrack) targetLocked() int {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	return dt.target
}

// switched tells the subscriber which simulcast layer it now receives.
func (dt *downTrack) switched(idx int) {
	dt.up.m.layerSwitches.Inc()
	if dt.pinned > 0 || dt.up.layers[1].Load() == nil && dt.up.layers[2].Load() == nil {
		return // not simulcast
	}
	dt.sub.room.node.deliver(dt.sub.user, dt.sub.session, &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomLayer,
		CallID: dt.sub.room.id, From: dt.up.pub.user, Mid: dt.up.mid, Limit: uint16(idx)})
}

// rebase makes the next packet sent (the target layer's next keyframe)
// follow the last one sent, as at a layer switch: after a pause or a mute
// the subscriber sees no sequence gap to NACK, and timestamps advance by
// the time that passed.
func (dt *downTrack) rebase() {
	dt.mu.Lock()
	dt.current = -1
	dt.mu.Unlock()
}

// setMaxLayer caps the layer the subscriber receives.
func (dt *downTrack) setMaxLayer(idx int) {
	dt.maxLayer.Store(int32(idx))
	dt.retarget()
}

// retarget picks the layer to switch to at its next keyframe.
func (dt *downTrack) retarget() {
	target := dt.chooseTarget()
	dt.mu.Lock()
	changed := dt.target != target
	dt.target = target
	dt.mu.Unlock()
	if changed {
		dt.up.requestKeyframe(target)
	}
}

// readRTCP reads the subscriber's RTCP for this track (which also drives
// pion's interceptors: receiver reports):
// NACKs are answered from the layer's packet cache, keyframe requests go
// to the publisher, bandwidth estimates retarget.
func (dt *downTrack) readRTCP() {
	for {
		pkts, _, err := dt.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				dt.onNack(p)
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if dt.pinned > 0 && dt.paused.Load() { // the far node wants a layer it did not (relay.go)
					dt.rebase()
					dt.paused.Store(false)
				}
				dt.up.requestKeyframe(dt.targetLocked())
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				dt.estimate.Store(uint64(p.Bitrate))
				dt.retarget()
			}
		}
	}
}
