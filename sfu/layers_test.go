package sfu

import "testing"

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
