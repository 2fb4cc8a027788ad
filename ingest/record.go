package ingest

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// recordSegment is the length recorded segments reach before the next
// keyframe starts a new one.
const recordSegment = 6 * time.Second

// recorder keeps a stream on disk: MPEG-TS segments cut on keyframes and a
// playlist, an EVENT playlist while live and a VOD one (EXT-X-ENDLIST) once
// the stream ends. Only the publisher goroutine calls it.
type recorder struct {
	dir  string
	aac  *mpeg4audio.AudioSpecificConfig
	file *os.File
	buf  *bufio.Writer
	ts   *tsWriter

	segStart time.Duration // DTS of the current segment's first frame
	lastDTS  time.Duration
	segs     []recordedSegment
	err      error // the first write error; recording stops there
}

type recordedSegment struct {
	name string
	dur  time.Duration
}

func newRecorder(dir string, aac *mpeg4audio.AudioSpecificConfig) (*recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ingest: recording: %w", err)
	}
	return &recorder{dir: dir, aac: aac}, nil
}

func (r *recorder) video(pts, dts time.Duration, au [][]byte, idr bool) {
	if r.err != nil {
		return
	}
	if idr && (r.file == nil || dts-r.segStart >= recordSegment) {
		r.err = r.rotate(dts)
	}
	if r.ts == nil || r.err != nil {
		return // before the first keyframe
	}
	r.lastDTS = dts
	r.err = r.ts.video(pts, dts, au)
}

func (r *recorder) audio(pts time.Duration, au []byte) {
	if r.ts != nil && r.err == nil {
		r.err = r.ts.audio(pts, au)
	}
}

// rotate closes the current segment (if any) and opens the next at dts.
func (r *recorder) rotate(dts time.Duration) error {
	if err := r.closeSegment(dts); err != nil {
		return err
	}
	name := fmt.Sprintf("seg%05d.ts", len(r.segs))
	f, err := os.Create(filepath.Join(r.dir, name))
	if err != nil {
		return err
	}
	r.file, r.buf, r.segStart = f, bufio.NewWriterSize(f, 64<<10), dts
	r.ts, err = newTSWriter(r.buf, r.aac)
	return err
}

func (r *recorder) closeSegment(end time.Duration) error {
	if r.file == nil {
		return nil
	}
	name := filepath.Base(r.file.Name())
	err := r.buf.Flush()
	if cerr := r.file.Close(); err == nil {
		err = cerr
	}
	r.file, r.buf, r.ts = nil, nil, nil
	if err != nil {
		return err
	}
	r.segs = append(r.segs, recordedSegment{name, max(end-r.segStart, time.Millisecond)})
	return r.writePlaylist(false)
}

// close ends the recording: the last segment and the VOD playlist.
func (r *recorder) close() error {
	if r.err == nil {
		r.err = r.closeSegment(r.lastDTS + time.Second/30)
	}
	if r.err == nil && len(r.segs) > 0 {
		r.err = r.writePlaylist(true)
	}
	return r.err
}

// writePlaylist writes index.m3u8 atomically (rename), so that a player
// never reads half of it.
func (r *recorder) writePlaylist(ended bool) error {
	var b strings.Builder
	target := 1.0
	for _, s := range r.segs {
		target = math.Max(target, math.Ceil(s.dur.Seconds()))
	}
	kind := "EVENT"
	if ended {
		kind = "VOD"
	}
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:%s\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n", kind, int(target))
	for _, s := range r.segs {
		fmt.Fprintf(&b, "#EXTINF:%.3f,\n%s\n", s.dur.Seconds(), s.name)
	}
	if ended {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	tmp := filepath.Join(r.dir, ".index.m3u8.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.dir, "index.m3u8"))
}
