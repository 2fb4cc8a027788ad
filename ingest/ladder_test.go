package ingest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTranscodeLadder: with transcode on, a 640x480 publish is re-encoded
// by ffmpeg into the rungs not taller than the source (240p, 480p), served
// with a master playlist that ffprobe reads; the ladder goes away with the
// stream.
func TestTranscodeLadder(t *testing.T) {
	needFFmpeg(t)
	ts := startServer(t, Config{Transcode: TranscodeConfig{Enabled: true, Preset: "ultrafast",
		Renditions: []Rendition{{240, 400}, {480, 1200}, {720, 2800}}}}, twoKeys)
	args := lightArgs(ts.publishURL("k-alice"), 12)
	for i, a := range args {
		if strings.HasPrefix(a, "testsrc2=") {
			args[i] = "testsrc2=size=640x480:rate=15"
		}
	}
	src := startFFmpeg(t, args...)
	master := ts.hlsURL("alice", "abr/master.m3u8")
	var body []byte
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		resp, b, err := get(master)
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("master playlist: %v %v", resp, err)
		}
		body = b
		return nil
	})
	text := string(body)
	if strings.Count(text, "#EXT-X-STREAM-INF") != 2 || !strings.Contains(text, "RESOLUTION=320x240") || !strings.Contains(text, "RESOLUTION=640x480") {
		t.Errorf("master playlist:\n%s", text)
	}
	checkFor(t, 20*time.Second, 200*time.Millisecond, func() error {
		p := ffprobe(master)
		if p.err != nil || !p.has("video", "h264", 320, 240) || !p.has("video", "h264", 640, 480) || !p.has("audio", "aac", 0, 0) {
			return fmt.Errorf("ffprobe of the ladder: %+v %v", p.Streams, p.err)
		}
		return nil
	})
	if err := src.wait(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if resp, _, _ := get(master); resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("ladder after the end: %s", resp.Status)
		}
		return nil
	})
}

func TestTranscodeRungs(t *testing.T) {
	c := TranscodeConfig{}
	c.ensureDefaults()
	for _, tc := range []struct{ height, want int }{{1080, 4}, {720, 3}, {480, 2}, {360, 1}, {144, 1}} {
		if got := c.rungs(tc.height); len(got) != tc.want || got[0].Height != 240 {
			t.Errorf("source %dp: rungs %v, want %d from 240p", tc.height, got, tc.want)
		}
	}
	if err := (&TranscodeConfig{Renditions: []Rendition{{241, 400}}}).validate(); err == nil {
		t.Error("an odd height validated")
	}
}

// TestTranscodeWithoutFFmpeg: the ladder turns itself off, with a logged
// reason, when its ffmpeg is missing.
func TestTranscodeWithoutFFmpeg(t *testing.T) {
	ts := startServer(t, Config{Transcode: TranscodeConfig{Enabled: true, FFmpeg: "/nonexistent/ffmpeg"}}, twoKeys)
	if ts.cfg.Transcode.Enabled {
		t.Error("transcode still enabled without ffmpeg")
	}
	logged(t, ts, "transcode ladder disabled: ffmpeg not found")
}
