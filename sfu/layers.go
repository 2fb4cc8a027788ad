package sfu

import (
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// chooseTarget picks the layer a subscriber should receive: the highest
// layer being received that is at most its requested maximum and, when it
// sent a bandwidth estimate, whose measured bitrate fits in it; the lowest
// available layer when none fits.
func (dt *downTrack) chooseTarget() int {
	if dt.pinned > 0 {
		return int(dt.pinned - 1)
	}
	up := dt.up
	limit := int(dt.maxLayer.Load())
	estimate := dt.estimate.Load()
	lowest := -1
	for idx := 0; idx < maxLayers; idx++ {
		if up.layers[idx].Load() != nil {
			lowest = idx
			break
		}
	}
	if lowest < 0 {
		return 0
	}
	for idx := min(limit, maxLayers-1); idx > lowest; idx-- {
		l := up.layers[idx].Load()
		if l == nil {
			continue
		}
		if estimate == 0 || l.stats.bitrate.Load() <= estimate {
			return idx
		}
	}
	return lowest
}

// rewriter makes one subscriber's stream continuous whichever layer feeds
// it: out = in + offset, the offsets recomputed at each switch so that the
// first packet of the new layer follows the last one sent.
type rewriter struct {
	current, target int // the layer being sent (-1 none yet) and the one wanted
	started         bool
	seqOff          uint16
	tsOff           uint32
	lastSeq         uint16
	lastTS          uint32
	lastAt          int64 // when lastTS was sent, Unix nanoseconds
	out             rtp.Header
	history         epochs // recent switches, to map NACKs back
}

// rewrite returns the header to send for a packet of layer idx, whether
// the stream switched to idx with it, and false when the packet is not
// sent (another layer, or the target layer before its keyframe).
func (w *rewriter) rewrite(idx int, h *rtp.Header, key bool, now int64, clock uint32) (*rtp.Header, bool, bool) {
	switched := false
	if idx != w.current {
		if idx != w.target || !key {
			return nil, false, false
		}
		if w.started {
			elapsed := uint32(uint64(now-w.lastAt) * uint64(clock) / 1e9)
			w.seqOff = w.lastSeq + 1 - h.SequenceNumber
			w.tsOff = w.lastTS + max(elapsed, 1) - h.Timestamp
		}
		w.current, w.started, switched = idx, true, true
		w.history.add(epoch{outStart: h.SequenceNumber + w.seqOff, layer: idx, seqOff: w.seqOff, tsOff: w.tsOff})
	}
	seq := h.SequenceNumber + w.seqOff
	ts := h.Timestamp + w.tsOff
	if switched || int16(seq-w.lastSeq) > 0 {
		w.lastSeq, w.lastTS, w.lastAt = seq, ts, now
	}
	o := &w.out
	o.Version, o.Padding, o.Marker = 2, false, h.Marker
	o.SequenceNumber, o.Timestamp = seq, ts
	o.Extension, o.Extensions, o.CSRC = false, o.Extensions[:0], o.CSRC[:0]
	return o, switched, true
}

// Codecs whose keyframes the SFU recognises (it starts and switches a
// subscriber's stream on them); other video codecs start on the first
// packet and never switch layers.
const (
	codecOther = iota
	codecAudio
	codecVP8
	codecH264
)

func codecFamily(c webrtc.RTPCodecParameters) int {
	switch {
	case strings.HasPrefix(strings.ToLower(c.MimeType), "audio/"):
		return codecAudio
	case strings.EqualFold(c.MimeType, webrtc.MimeTypeVP8):
		return codecVP8
	case strings.EqualFold(c.MimeType, webrtc.MimeTypeH264):
		return codecH264
	}
	return codecOther
}

// isKeyframe reports whether an RTP payload of a codec family may start a
// subscriber's stream.
func isKeyframe(family int, payload []byte) bool {
	switch family {
	case codecVP8:
		return vp8Keyframe(payload)
	case codecH264:
		return h264Keyframe(payload)
	}
	return true
}

// vp8Keyframe parses the VP8 payload descriptor (RFC 7741 §4.2) and the
// first byte of the frame header: P (bit 0) is 0 on a keyframe.
func vp8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	start, pid, ext := p[0]&0x10 != 0, p[0]&0x07, p[0]&0x80 != 0
	i := 1
	if ext {
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture id
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K
			i++
		}
	}
	return start && pid == 0 && len(p) > i && p[i]&0x01 == 0
}

// h264Keyframe looks for an IDR slice or SPS (RFC 6184): single NAL,
// STAP-A aggregates, or the start of an FU-A.
func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch nal := p[0] & 0x1f; nal {
	case 5, 7:
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if t := p[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case 28: // FU-A
		return len(p) > 1 && p[1]&0x80 != 0 && (p[1]&0x1f == 5 || p[1]&0x1f == 7)
	}
	return false
}
