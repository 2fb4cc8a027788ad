package sfu

import (
	"testing"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// keyframeCases are RTP payloads built by hand from the payload format
// specifications, with whether each may start a subscriber's stream.
var keyframeCases = []struct {
	name    string
	family  int
	payload []byte
	want    bool
}{
	// VP8, RFC 7741 §4.2 (descriptor) and §4.3 (P bit of the payload header).
	{"vp8 key", codecVP8, []byte{0x10, 0x00}, true},
	{"vp8 inter", codecVP8, []byte{0x10, 0x01}, false},
	{"vp8 not partition start", codecVP8, []byte{0x00, 0x00}, false},
	{"vp8 partition 1", codecVP8, []byte{0x11, 0x00}, false},
	{"vp8 ext picture id 15 bit", codecVP8, []byte{0x90, 0x80, 0x81, 0x02, 0x00}, true},
	{"vp8 ext picture id 7 bit, tl0, tid", codecVP8, []byte{0x90, 0xe0, 0x05, 0x07, 0x20, 0x00}, true},
	{"vp8 ext truncated", codecVP8, []byte{0x90, 0x80}, false},
	{"vp8 empty", codecVP8, nil, false},

	// H.264, RFC 6184 §5.6 (single NAL), §5.7.1 (STAP-A), §5.8 (FU-A).
	{"h264 idr", codecH264, []byte{0x65, 0x88}, true},
	{"h264 sps", codecH264, []byte{0x67, 0x42}, true},
	{"h264 non-idr", codecH264, []byte{0x41, 0x9a}, false},
	{"h264 stap-a with sps", codecH264, []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
	{"h264 stap-a without", codecH264, []byte{0x78, 0x00, 0x02, 0x41, 0x9a}, false},
	{"h264 stap-a truncated", codecH264, []byte{0x78, 0x00, 0x09}, false},
	{"h264 fu-a idr start", codecH264, []byte{0x7c, 0x85}, true},
	{"h264 fu-a idr middle", codecH264, []byte{0x7c, 0x05}, false},

	// VP9, RFC 9628 §4.2: |I|P|L|F|B|E|V|Z|, picture id (I; 15 bits when
	// M), | TID |U| SID |D| (L), TL0PICIDX (L, non-flexible), P_DIFF (F and
	// P), scalability structure (V, §4.2.1). The frame starts with the
	// uncompressed header (VP9 bitstream §6.2): 0x82 = frame marker,
	// profile 0, key frame, shown; 0x86 = an inter frame.
	{"vp9 key, non-flexible, 15-bit pid, SID 0, SS 640x360", codecVP9, []byte{
		0xaa,       // I L B V
		0x92, 0x34, // M=1, picture id 0x1234
		0x00,                   // TID 0, U 0, SID 0, D 0
		0x05,                   // TL0PICIDX
		0x10,                   // SS: N_S 0 (one spatial layer), Y=1, G=0
		0x02, 0x80, 0x01, 0x68, // 640x360
		0x82, 0x49, 0x83, 0x42, // frame: key frame, sync code
	}, true},
	{"vp9 inter, non-flexible", codecVP9, []byte{0xec, 0x92, 0x35, 0x20, 0x05, 0x86, 0x00}, false},
	{"vp9 key, second packet of the frame", codecVP9, []byte{0xa4, 0x92, 0x34, 0x00, 0x05, 0x11, 0x22}, false},
	{"vp9 key picture, spatial layer 1", codecVP9, []byte{0xa8, 0x92, 0x34, 0x03, 0x05, 0x82, 0x49}, false},
	{"vp9 key, flexible mode, 7-bit pid", codecVP9, []byte{0xbc, 0x12, 0x00, 0x82, 0x49, 0x83, 0x42}, true},
	{"vp9 inter, flexible mode, P_DIFF 1", codecVP9, []byte{0xfc, 0x13, 0x20, 0x02, 0x86, 0x00}, false},
	{"vp9 key, flexible mode, SID 2", codecVP9, []byte{0xbc, 0x12, 0x05, 0x82, 0x49}, false},
	{"vp9 key, descriptor byte only", codecVP9, []byte{0x0c, 0x82, 0x49, 0x83, 0x42}, true},
	{"vp9 truncated picture id", codecVP9, []byte{0x88}, false},
	{"vp9 truncated extended picture id", codecVP9, []byte{0x88, 0x80}, false},
	{"vp9 truncated layer indices", codecVP9, []byte{0xa8, 0x12}, false},
	{"vp9 descriptor without frame", codecVP9, []byte{0x28, 0x00, 0x05}, false},
	{"vp9 empty", codecVP9, nil, false},

	// AV1, AV1 RTP spec §4.4: aggregation header |Z|Y| W |N|-|-|-|, then
	// OBU elements (§4.3), each with a length unless it is the last of W.
	// OBU headers (AV1 §5.3.1): 0x08 sequence header, 0x30 frame (no
	// extension, no size field).
	{"av1 new coded video sequence: sequence header + key frame", codecAV1, []byte{
		0x28, // Z 0, Y 0, W 2, N 1
		0x0b, // length of the first OBU element
		0x08, // OBU_SEQUENCE_HEADER
		0x00, 0x00, 0x00, 0x24, 0xc4, 0xff, 0xdf, 0x00, 0x68, 0x02,
		0x30, 0x10, 0x00, 0x00, // OBU_FRAME, the last element: no length
	}, true},
	{"av1 inter frame", codecAV1, []byte{0x10, 0x30, 0x50, 0x00, 0x01}, false},
	{"av1 continuation of a fragmented OBU", codecAV1, []byte{0x90, 0xaa, 0xbb}, false},
	{"av1 Z and N both set (invalid)", codecAV1, []byte{0x88, 0x30, 0x10}, false},
	{"av1 N, no OBU element", codecAV1, []byte{0x08}, false},
	{"av1 key, W 0 (OBU elements with lengths)", codecAV1, []byte{0x08, 0x02, 0x08, 0x00, 0x03, 0x30, 0x10, 0x00}, true},
	{"av1 empty", codecAV1, nil, false},

	// H.265, RFC 7798: NAL unit header |F| Type(6) | LayerId(6) | TID(3)|
	// (§1.1.4; TID+1 = 1 here), single NAL unit packet (§4.4.1), AP
	// (§4.4.2, type 48), FU (§4.4.3, type 49, FU header |S|E| FuType |).
	{"h265 idr_w_radl", codecH265, []byte{0x26, 0x01, 0xaf, 0x06}, true},
	{"h265 idr_n_lp", codecH265, []byte{0x28, 0x01, 0xaf}, true},
	{"h265 cra", codecH265, []byte{0x2a, 0x01, 0xaf}, true},
	{"h265 bla_w_lp", codecH265, []byte{0x20, 0x01, 0xaf}, true},
	{"h265 vps", codecH265, []byte{0x40, 0x01, 0x0c, 0x01}, true},
	{"h265 sps", codecH265, []byte{0x42, 0x01, 0x01, 0x01}, true},
	{"h265 pps", codecH265, []byte{0x44, 0x01, 0xc1, 0x72}, false},
	{"h265 trail_r", codecH265, []byte{0x02, 0x01, 0xd0, 0x2f}, false},
	{"h265 reserved irap 22", codecH265, []byte{0x2c, 0x01, 0x00}, false},
	{"h265 ap: vps, sps, pps, idr", codecH265, []byte{
		0x60, 0x01, // AP
		0x00, 0x03, 0x40, 0x01, 0x0c,
		0x00, 0x03, 0x42, 0x01, 0x01,
		0x00, 0x03, 0x44, 0x01, 0xc1,
		0x00, 0x03, 0x26, 0x01, 0xaf,
	}, true},
	{"h265 ap: pps, trail_r", codecH265, []byte{0x60, 0x01, 0x00, 0x03, 0x44, 0x01, 0xc1, 0x00, 0x03, 0x02, 0x01, 0xd0}, false},
	{"h265 ap: idr second", codecH265, []byte{0x60, 0x01, 0x00, 0x03, 0x44, 0x01, 0xc1, 0x00, 0x03, 0x26, 0x01, 0xaf}, true},
	{"h265 ap: size past the end", codecH265, []byte{0x60, 0x01, 0x00, 0x09}, false},
	{"h265 ap: zero sizes", codecH265, []byte{0x60, 0x01, 0x00, 0x00, 0x00, 0x00}, false},
	{"h265 fu: idr start", codecH265, []byte{0x62, 0x01, 0x93, 0xaf, 0x06}, true},
	{"h265 fu: cra start", codecH265, []byte{0x62, 0x01, 0x95, 0xaf}, true},
	{"h265 fu: idr middle", codecH265, []byte{0x62, 0x01, 0x13, 0x00}, false},
	{"h265 fu: idr end", codecH265, []byte{0x62, 0x01, 0x53, 0x00}, false},
	{"h265 fu: trail_r start", codecH265, []byte{0x62, 0x01, 0x81, 0x00}, false},
	{"h265 fu: no fu header", codecH265, []byte{0x62, 0x01}, false},
	{"h265 one byte", codecH265, []byte{0x26}, false},

	{"audio", codecAudio, []byte{0xfc}, true},
	{"other video codec", codecOther, []byte{0x00}, true},
}

func TestKeyframe(t *testing.T) {
	for _, tc := range keyframeCases {
		if got := isKeyframe(tc.family, tc.payload); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestKeyframeAgreesWithPion checks the hand-built VP9 and AV1 payloads
// against pion's parsers (which allocate, so the SFU does not use them):
// where pion accepts a payload, its fields give the same answer.
func TestKeyframeAgreesWithPion(t *testing.T) {
	compared := 0
	for _, tc := range keyframeCases {
		switch tc.family {
		case codecVP9:
			var p codecs.VP9Packet
			if _, err := p.Unmarshal(tc.payload); err != nil {
				continue
			}
			compared++
			if got := p.B && !p.P && p.SID == 0 && len(p.Payload) > 0; got != tc.want {
				t.Errorf("%s: pion's VP9Packet says %v, want %v (%+v)", tc.name, got, tc.want, p)
			}
		case codecAV1:
			var p codecs.AV1Packet
			if _, err := p.Unmarshal(tc.payload); err != nil {
				continue
			}
			compared++
			if got := p.N && !p.Z; got != tc.want {
				t.Errorf("%s: pion's AV1Packet says %v, want %v", tc.name, got, tc.want)
			}
		}
	}
	t.Logf("%d payloads compared", compared)
	if compared < 12 {
		t.Errorf("pion parsed only %d of the VP9 and AV1 payloads", compared)
	}
}

func TestCodecFamily(t *testing.T) {
	for mime, want := range map[string]int{
		webrtc.MimeTypeVP8: codecVP8, webrtc.MimeTypeH264: codecH264, webrtc.MimeTypeVP9: codecVP9,
		webrtc.MimeTypeAV1: codecAV1, webrtc.MimeTypeH265: codecH265, "video/vp9": codecVP9, "VIDEO/AV1": codecAV1,
		webrtc.MimeTypeOpus: codecAudio, "video/rtx": codecOther,
	} {
		c := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime}}
		if got := codecFamily(c); got != want {
			t.Errorf("%s: family %d, want %d", mime, got, want)
		}
	}
}

// TestKeyframeAllocs: keyframe detection runs on every forwarded packet,
// which allocates nothing.
func TestKeyframeAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		for _, tc := range keyframeCases {
			isKeyframe(tc.family, tc.payload)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per %d payloads, want 0", allocs, len(keyframeCases))
	}
}

// FuzzKeyframe: the keyframe parsers read publishers' payloads, which are
// anything: they must never panic.
func FuzzKeyframe(f *testing.F) {
	for _, tc := range keyframeCases {
		f.Add(tc.payload)
	}
	for _, seed := range [][]byte{{0x90, 0x80, 0x81}, {0xff}, {0xff, 0xff}, {0x60, 0x01, 0xff, 0xff, 0x26}, {0x78, 0xff, 0xff}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		for family := codecOther; family <= codecH265; family++ {
			isKeyframe(family, p)
		}
	})
}
