package ingest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Rendition is one rung of the transcode ladder.
type Rendition struct {
	Height      int `yaml:"height"`       // output height; width keeps the aspect ratio
	BitrateKbps int `yaml:"bitrate_kbps"` // video bitrate
}

// TranscodeConfig configures the adaptive-bitrate ladder: ffmpeg re-encodes
// each stream into the renditions not taller than the source, served with a
// master playlist at /live/<name>/abr/master.m3u8. Without ffmpeg it is off
// (New logs why), and streams are served as published.
type TranscodeConfig struct {
	Enabled bool   `yaml:"enabled"` // default false: it costs about a core per 1080p stream
	FFmpeg  string `yaml:"ffmpeg"`  // the ffmpeg binary; default "ffmpeg" from PATH
	Preset  string `yaml:"preset"`  // x264 preset; default veryfast
	// Renditions default to 240p/480p/720p/1080p at 400/1200/2800/5000 kbps.
	Renditions []Rendition `yaml:"renditions"`
}

func (c *TranscodeConfig) ensureDefaults() {
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.Preset == "" {
		c.Preset = "veryfast"
	}
	if len(c.Renditions) == 0 {
		c.Renditions = []Rendition{{240, 400}, {480, 1200}, {720, 2800}, {1080, 5000}}
	}
}

func (c *TranscodeConfig) validate() error {
	for i, r := range c.Renditions {
		if r.Height < 16 || r.Height%2 != 0 || r.BitrateKbps < 50 {
			return fmt.Errorf("ingest: invalid config field transcode.renditions[%d] (even height ≥ 16, bitrate_kbps ≥ 50)", i)
		}
	}
	return nil
}

// rungs are the renditions for a source of height h: those not taller,
// or the smallest one.
func (c *TranscodeConfig) rungs(h int) []Rendition {
	var out []Rendition
	low := c.Renditions[0]
	for _, r := range c.Renditions {
		if r.Height <= h {
			out = append(out, r)
		}
		if r.Height < low.Height {
			low = r
		}
	}
	if len(out) == 0 {
		out = []Rendition{low}
	}
	return out
}

// transcodeQueue bounds the access units waiting for ffmpeg; when it is
// full (ffmpeg slower than real time) units are dropped, never the
// publisher slowed.
const transcodeQueue = 1024

type tcItem struct {
	video    bool
	pts, dts time.Duration
	au       [][]byte
}

// transcoder feeds one stream to an ffmpeg process as MPEG-TS on its stdin;
// ffmpeg writes the ladder's HLS into dir. The publisher goroutine calls
// video/audio/close; one writer goroutine owns the pipe.
type transcoder struct {
	dir     string
	cmd     *exec.Cmd
	q       chan tcItem
	done    chan struct{}
	dropped atomic.Uint64
	stderr  *tailBuffer
	log     *slog.Logger
}

func startTranscoder(cfg TranscodeConfig, dir string, sps []byte, aac *mpeg4audio.AudioSpecificConfig, log *slog.Logger) (*transcoder, error) {
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("ingest: transcode: SPS: %w", err)
	}
	rungs := cfg.rungs(s.Height())
	var id [4]byte
	rand.Read(id[:])
	session := hex.EncodeToString(id[:]) // segment names never repeat across sessions: they are immutable
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-f", "mpegts", "-i", "pipe:0"}
	var split, streamMap strings.Builder
	fmt.Fprintf(&split, "[0:v]split=%d", len(rungs))
	for i := range rungs {
		fmt.Fprintf(&split, "[s%d]", i)
	}
	for i, r := range rungs {
		fmt.Fprintf(&split, ";[s%d]scale=-2:%d[v%d]", i, r.Height, i)
		args = append(args, "-map", fmt.Sprintf("[v%d]", i))
		fmt.Fprintf(&streamMap, " v:%d", i)
		if aac != nil {
			args = append(args, "-map", "0:a:0")
			fmt.Fprintf(&streamMap, ",a:%d", i)
		}
		fmt.Fprintf(&streamMap, ",name:%dp", r.Height)
		b := fmt.Sprintf("%dk", r.BitrateKbps)
		args = append(args, fmt.Sprintf("-b:v:%d", i), b, fmt.Sprintf("-maxrate:v:%d", i), b,
			fmt.Sprintf("-bufsize:v:%d", i), fmt.Sprintf("%dk", 2*r.BitrateKbps))
	}
	args = append(args, "-filter_complex", split.String(),
		"-c:v", "libx264", "-preset", cfg.Preset, "-pix_fmt", "yuv420p", "-sc_threshold", "0",
		"-force_key_frames", "expr:gte(t,n_forced*2)")
	if aac != nil {
		args = append(args, "-c:a", "aac", "-b:a", "96k")
	}
	args = append(args, "-f", "hls", "-hls_time", "2", "-hls_list_size", "6",
		"-hls_flags", "delete_segments+independent_segments", "-master_pl_name", "master.m3u8",
		"-var_stream_map", strings.TrimSpace(streamMap.String()),
		"-hls_segment_filename", filepath.Join(dir, "%v", session+"_%05d.ts"), filepath.Join(dir, "%v", "index.m3u8"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	t := &transcoder{dir: dir, cmd: exec.Command(cfg.FFmpeg, args...), q: make(chan tcItem, transcodeQueue),
		done: make(chan struct{}), stderr: &tailBuffer{}, log: log}
	t.cmd.Stderr = t.stderr
	stdin, err := t.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := t.cmd.Start(); err != nil {
		return nil, fmt.Errorf("ingest: transcode: %w", err)
	}
	ts, err := newTSWriter(stdin, aac)
	if err != nil {
		t.cmd.Process.Kill()
		t.cmd.Wait()
		return nil, err
	}
	go t.run(ts, stdin)
	log.Info("transcoding", "renditions", len(rungs), "source_height", s.Height())
	return t, nil
}

// run writes queued units to ffmpeg until the queue closes or ffmpeg dies,
// then closes its stdin and waits for it.
func (t *transcoder) run(ts *tsWriter, stdin interface{ Close() error }) {
	defer close(t.done)
	var err error
	for it := range t.q {
		if err != nil {
			continue // drain
		}
		if it.video {
			err = ts.video(it.pts, it.dts, it.au)
		} else {
			err = ts.audio(it.pts, it.au[0])
		}
		if err != nil {
			t.log.Warn("transcoder input closed", "err", err, "ffmpeg", t.stderr.String())
		}
	}
	stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- t.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.cmd.Process.Kill()
		<-exited
	}
}

func (t *transcoder) push(it tcItem) {
	select {
	case t.q <- it:
	default:
		if t.dropped.Add(1) == 1 {
			t.log.Warn("transcoder behind real time: dropping input")
		}
	}
}

func (t *transcoder) video(pts, dts time.Duration, au [][]byte) {
	cp := make([][]byte, len(au))
	for i, n := range au {
		cp[i] = append([]byte(nil), n...)
	}
	t.push(tcItem{video: true, pts: pts, dts: dts, au: cp})
}

func (t *transcoder) audio(pts time.Duration, au []byte) {
	t.push(tcItem{pts: pts, au: [][]byte{append([]byte(nil), au...)}})
}

// close ends ffmpeg and removes the ladder's files.
func (t *transcoder) close() {
	close(t.q)
	<-t.done
	os.RemoveAll(t.dir)
}

// tailBuffer keeps the last 4 KiB written to it (ffmpeg's stderr).
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if len(b.b) > 4096 {
		b.b = append([]byte(nil), b.b[len(b.b)-4096:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(string(b.b))
}
