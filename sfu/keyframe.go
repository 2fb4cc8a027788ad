package sfu

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// Codecs whose keyframes the SFU recognises (it starts and switches a
// subscriber's stream on them); other video codecs start on the first
// packet and never switch layers.
const (
	codecOther = iota
	codecAudio
	codecVP8
	codecH264
	codecVP9
	codecAV1
	codecH265
)

func codecFamily(c webrtc.RTPCodecParameters) int {
	mime := c.MimeType
	switch {
	case strings.HasPrefix(strings.ToLower(mime), "audio/"):
		return codecAudio
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return codecVP8
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return codecH264
	case strings.EqualFold(mime, webrtc.MimeTypeVP9):
		return codecVP9
	case strings.EqualFold(mime, webrtc.MimeTypeAV1):
		return codecAV1
	case strings.EqualFold(mime, webrtc.MimeTypeH265):
		return codecH265
	}
	return codecOther
}

// isKeyframe reports whether an RTP payload of a codec family may start a
// subscriber's stream. It reads only the payload descriptor or NAL headers
// (no decoding) and allocates nothing: it runs on every forwarded packet.
func isKeyframe(family int, payload []byte) bool {
	switch family {
	case codecVP8:
		return vp8Keyframe(payload)
	case codecH264:
		return h264Keyframe(payload)
	case codecVP9:
		return vp9Keyframe(payload)
	case codecAV1:
		return av1Keyframe(payload)
	case codecH265:
		return h265Keyframe(payload)
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

// VP9 payload descriptor bits (RFC 9628 §4.2), first byte |I|P|L|F|B|E|V|Z|.
const (
	vp9I = 0x80 // picture id present
	vp9P = 0x40 // inter-picture predicted
	vp9L = 0x20 // layer indices present
	vp9F = 0x10 // flexible mode
	vp9B = 0x08 // start of a frame
)

// vp9Keyframe parses the VP9 payload descriptor (RFC 9628 §4.2): the
// packet begins a frame (B=1) that is not inter-picture predicted (P=0) of
// the base spatial layer (SID 0, or no layer indices: one spatial layer).
// A frame of the base spatial layer that is not inter-picture predicted
// is an intra frame, a point where decoding can start. Flexible (F=1) and non-flexible mode differ
// only after the layer indices: non-flexible mode has TL0PICIDX, flexible
// mode has P_DIFF only when P=1, which a keyframe is not.
func vp9Keyframe(p []byte) bool {
	if len(p) < 1 || p[0]&vp9B == 0 || p[0]&vp9P != 0 {
		return false
	}
	i := 1
	if p[0]&vp9I != 0 { // |M| PICTURE ID |, and | EXTENDED PID | when M=1
		if len(p) <= i {
			return false
		}
		if p[i]&0x80 != 0 {
			i++
		}
		i++
	}
	if p[0]&vp9L != 0 { // | TID |U| SID |D|
		if len(p) <= i || p[i]>>1&0x07 != 0 {
			return false
		}
		i++
		if p[0]&vp9F == 0 { // | TL0PICIDX |
			i++
		}
	}
	// What follows (the scalability structure when V=1, then the frame) is
	// not needed: the descriptor said it all. A keyframe has a payload.
	return len(p) > i
}

// av1Keyframe reads the AV1 aggregation header (AV1 RTP spec §4.4,
// |Z|Y| W |N|-|-|-|): N is set on the first packet of a coded video
// sequence, which begins with a key frame, and only on it; Z (the packet
// continues an OBU of the previous one) is then 0.
func av1Keyframe(p []byte) bool {
	return len(p) > 1 && p[0]&0x08 != 0 && p[0]&0x80 == 0
}

// h265Keyframe looks for an IRAP picture (NAL unit types 16-21: BLA, IDR,
// CRA; H.265 Table 7-1) or the VPS/SPS that precede it in an access unit
// (types 32, 33: a stream started there has its parameter sets), in a
// single NAL unit packet, an aggregation packet or the first fragment of
// a fragmentation unit (RFC 7798 §4.4). The two-byte NAL unit header
// (§1.1.4) is |F| Type(6) | LayerId(6) | TID(3)|. DONL fields (present
// only when sprop-max-don-diff > 0, which WebRTC senders do not signal)
// are not expected.
func h265Keyframe(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch t := p[0] >> 1 & 0x3f; t {
	case 48: // AP (§4.4.2): payload header, then | NALU size (16) | NAL unit |...
		for i := 2; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if h265Key(p[i+2] >> 1 & 0x3f) {
				return true
			}
			i += 2 + size
		}
		return false
	case 49: // FU (§4.4.3): payload header, then |S|E| FuType(6) |
		return len(p) > 2 && p[2]&0x80 != 0 && h265Key(p[2]&0x3f)
	default:
		return h265Key(t)
	}
}

func h265Key(nalType byte) bool {
	return nalType >= 16 && nalType <= 21 || nalType == 32 || nalType == 33
}
