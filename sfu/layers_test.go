package sfu

import "testing"

func TestKeyframe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		family  int
		payload []byte
		want    bool
	}{
		{"vp8 key", codecVP8, []byte{0x10, 0x00}, true},
		{"vp8 inter", codecVP8, []byte{0x10, 0x01}, false},
		{"vp8 not partition start", codecVP8, []byte{0x00, 0x00}, false},
		{"vp8 partition 1", codecVP8, []byte{0x11, 0x00}, false},
		{"vp8 ext picture id 15 bit", codecVP8, []byte{0x90, 0x80, 0x81, 0x02, 0x00}, true},
		{"vp8 ext picture id 7 bit, tl0, tid", codecVP8, []byte{0x90, 0xe0, 0x05, 0x07, 0x20, 0x00}, true},
		{"vp8 ext truncated", codecVP8, []byte{0x90, 0x80}, false},
		{"vp8 empty", codecVP8, nil, false},
		{"h264 idr", codecH264, []byte{0x65, 0x88}, true},
		{"h264 sps", codecH264, []byte{0x67, 0x42}, true},
		{"h264 non-idr", codecH264, []byte{0x41, 0x9a}, false},
		{"h264 stap-a with sps", codecH264, []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"h264 stap-a without", codecH264, []byte{0x78, 0x00, 0x02, 0x41, 0x9a}, false},
		{"h264 stap-a truncated", codecH264, []byte{0x78, 0x00, 0x09}, false},
		{"h264 fu-a idr start", codecH264, []byte{0x7c, 0x85}, true},
		{"h264 fu-a idr middle", codecH264, []byte{0x7c, 0x05}, false},
		{"audio", codecAudio, []byte{0xfc}, true},
	} {
		if got := isKeyframe(tc.family, tc.payload); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzKeyframe: the keyframe parsers read publishers' payloads, which are
// anything: they must never panic.
func FuzzKeyframe(f *testing.F) {
	for _, seed := range [][]byte{{0x90, 0xe0, 0x05, 0x07, 0x20, 0x00}, {0x78, 0x00, 0x02, 0x67}, {0x7c, 0x85}, {0x90, 0x80, 0x81}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		isKeyframe(codecVP8, p)
		isKeyframe(codecH264, p)
	})
}

func TestChooseTarget(t *testing.T) {
	for _, tc := range []struct {
		name     string
		layers   []int    // available
		bitrates []uint64 // by layer
		max      int
		estimate uint64
		want     int
	}{
		{"single layer", []int{0}, []uint64{500e3}, 2, 0, 0},
		{"highest by default", []int{0, 1, 2}, []uint64{100e3, 300e3, 1e6}, 2, 0, 2},
		{"capped by request", []int{0, 1, 2}, []uint64{100e3, 300e3, 1e6}, 1, 0, 1},
		{"estimate fits medium", []int{0, 1, 2}, []uint64{100e3, 300e3, 1e6}, 2, 500e3, 1},
		{"estimate below all", []int{0, 1, 2}, []uint64{100e3, 300e3, 1e6}, 2, 50e3, 0},
		{"missing high layer", []int{0, 1}, []uint64{100e3, 300e3}, 2, 0, 1},
		{"only high layer", []int{2}, []uint64{0, 0, 1e6}, 0, 0, 2},
	} {
		up := fanout(0)
		up.layers[0].Store(nil)
		for _, idx := range tc.layers {
			l := &layer{idx: idx}
			l.stats.bitrate.Store(tc.bitrates[idx])
			up.layers[idx].Store(l)
		}
		dt := newDownTrack(up, &participant{room: up.pub.room, user: "sub"})
		dt.maxLayer.Store(int32(tc.max))
		dt.estimate.Store(tc.estimate)
		if got := dt.chooseTarget(); got != tc.want {
			t.Errorf("%s: layer %d, want %d", tc.name, got, tc.want)
		}
	}
}
