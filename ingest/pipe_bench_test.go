package ingest

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
)

// A 1280x720 baseline SPS (gohlslib's test one) and a PPS.
var (
	benchSPS = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
		0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	benchPPS = []byte{0x08}
)

// benchPipe measures the remux path of one access unit: parameter-set
// check, stats, and the HLS muxer's write (segmenting, MPEG-TS or fMP4
// encoding), with 30 fps video, a keyframe a second, size bytes a frame.
func benchPipe(b *testing.B, variant string, size int) {
	s, err := New(Options{Config: Config{Variant: variant}, Keys: keyMap{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	st := &stream{info: StreamInfo{Name: "bench"}, done: make(chan struct{})}
	video := &gortmplib.Track{Codec: &codecs.H264{SPS: benchSPS, PPS: benchPPS}}
	m, vt, _, err := s.newMuxer(video, nil, st)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	p := &pipe{s: s, st: st, m: m, vt: vt, sps: benchSPS, pps: benchPPS}
	idr := append([]byte{0x65}, make([]byte, size-1)...)
	nonIDR := append([]byte{0x41}, make([]byte, size-1)...)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		pts := time.Duration(i) * time.Second / 30
		au := [][]byte{nonIDR}
		if i%30 == 0 {
			au = [][]byte{idr}
		}
		p.onH264(pts, pts, au)
	}
	b.StopTimer()
	if d := st.stats.dropped.Load(); d > 0 {
		b.Fatalf("%d frames dropped", d)
	}
}

func BenchmarkPipeMPEGTS4K(b *testing.B)     { benchPipe(b, VariantMPEGTS, 4096) }
func BenchmarkPipeMPEGTS32K(b *testing.B)    { benchPipe(b, VariantMPEGTS, 32768) }
func BenchmarkPipeLowLatency4K(b *testing.B) { benchPipe(b, VariantLowLatency, 4096) }
