package sfu

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// discardWriter is a TrackLocalWriter that drops what it is given: the
// micro-benchmark measures the SFU's own per-packet work (down-track
// lookup, rewrite), not pion's SRTP and socket writes.
type discardWriter struct{ n int }

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n += len(payload)
	return len(payload), nil
}

func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// fanout builds a published VP8 track with k bound down-tracks.
func fanout(k int) *upTrack {
	n := &Node{cfg: Config{PLIInterval: 1e9}, metrics: newMetrics(nil), log: slog.New(slog.DiscardHandler)}
	r := newRoom(n, "n1-bench")
	pub := &participant{room: r, user: "pub"}
	up := &upTrack{pub: pub, mid: "0", kind: webrtc.RTPCodecTypeVideo, m: n.metrics,
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}}
	up.family = codecVP8
	up.downs.Store(&[]*downTrack{})
	up.layers[0].Store(&layer{})
	for i := range k {
		dt := newDownTrack(up, &participant{room: r, user: fmt.Sprint("sub", i)})
		dt.bound.Store(&binding{ssrc: uint32(1000 + i), pt: 96, clock: 90000, w: &discardWriter{}})
		up.addDown(dt)
	}
	return up
}

// forwardOne runs the per-packet body of upTrack.forward for one packet.
func forwardOne(up *upTrack, h *rtp.Header, payload []byte, key bool, now int64) int {
	sent := 0
	for _, dt := range *up.downs.Load() {
		if dt.write(0, h, payload, key, now) {
			sent++
		}
	}
	return sent
}

func benchFanout(b *testing.B, k int) {
	up := fanout(k)
	payload := make([]byte, 1100)
	payload[0] = 0x10 // VP8 start of partition; payload[1] bit 0 = 0: keyframe
	h := rtp.Header{Version: 2, PayloadType: 100, SSRC: 42, Marker: true}
	forwardOne(up, &h, payload, true, 1)
	payload[1] = 0x01
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h.SequenceNumber++
		h.Timestamp += 3000
		forwardOne(up, &h, payload, false, int64(i))
	}
	b.ReportMetric(float64(b.N)*float64(k)/b.Elapsed().Seconds(), "fwd_pkts/s")
}

// BenchmarkFanout is one packet of a publisher rewritten and written to K
// down-tracks (the writes discarded): the SFU's own hot path.
func BenchmarkFanout10(b *testing.B)  { benchFanout(b, 10) }
func BenchmarkFanout50(b *testing.B)  { benchFanout(b, 50) }
func BenchmarkFanout200(b *testing.B) { benchFanout(b, 200) }

// TestForwardAllocs keeps the per-packet path at zero allocations.
func TestForwardAllocs(t *testing.T) {
	up := fanout(20)
	payload := []byte{0x10, 0x00, 1, 2, 3}
	h := rtp.Header{Version: 2, PayloadType: 100, SSRC: 42}
	forwardOne(up, &h, payload, true, 1)
	payload[1] = 0x01
	allocs := testing.AllocsPerRun(1000, func() {
		h.SequenceNumber++
		h.Timestamp += 3000
		if forwardOne(up, &h, payload, false, 2) != 20 {
			t.Fatal("not forwarded")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per forwarded packet, want 0", allocs)
	}
	var st streamStats
	cache := new(packetCache)
	raw := make([]byte, 1200)
	allocs = testing.AllocsPerRun(1000, func() {
		h.SequenceNumber++
		st.update(&h, int64(h.SequenceNumber)*1e6, 90000, 1200)
		cache.put(h.SequenceNumber, raw)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per stats update and cache write, want 0", allocs)
	}
}
