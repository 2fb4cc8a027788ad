package ingest

import (
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

// tsWriter writes a stream's H.264 (and AAC) access units as MPEG-TS: the
// recording's segments and the transcoder's input.
type tsWriter struct {
	w      *mpegts.Writer
	vt, at *mpegts.Track
}

func newTSWriter(out io.Writer, aac *mpeg4audio.AudioSpecificConfig) (*tsWriter, error) {
	t := &tsWriter{vt: &mpegts.Track{Codec: &tscodecs.H264{}}}
	tracks := []*mpegts.Track{t.vt}
	if aac != nil {
		t.at = &mpegts.Track{Codec: &tscodecs.MPEG4Audio{Config: *aac}}
		tracks = append(tracks, t.at)
	}
	t.w = &mpegts.Writer{W: out, Tracks: tracks}
	if err := t.w.Initialize(); err != nil {
		return nil, fmt.Errorf("ingest: mpeg-ts writer: %w", err)
	}
	return t, nil
}

func ticks90k(d time.Duration) int64 { return int64(d) * 90000 / int64(time.Second) }

func (t *tsWriter) video(pts, dts time.Duration, au [][]byte) error {
	return t.w.WriteH264(t.vt, ticks90k(pts), ticks90k(dts), au)
}

func (t *tsWriter) audio(pts time.Duration, au []byte) error {
	if t.at == nil {
		return nil
	}
	return t.w.WriteMPEG4Audio(t.at, ticks90k(pts), [][]byte{au})
}
