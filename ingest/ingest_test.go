package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestPublishToHLS publishes 10 s of H.264 + AAC with ffmpeg over RTMP and
// checks, per HLS variant, that the playlist appears, segments download with
// the right cache headers, ffprobe reads H.264 640x360 and AAC from the HLS
// URL, the downloaded segments last as long as the playlist says, and the
// latency from ingest to listing meets the goal (p99 ≤ 8 s classic, ≤ 3 s
// LL-HLS).
func TestPublishToHLS(t *testing.T) {
	needFFmpeg(t)
	for _, tc := range []struct {
		variant string
		goal    time.Duration
	}{
		{VariantMPEGTS, 8 * time.Second},
		{VariantLowLatency, 3 * time.Second},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			ts := startServer(t, Config{Variant: tc.variant}, keyMap{"k-alice": {Name: "alice", UserID: "alice"}})
			start := time.Now()
			src := startFFmpeg(t, ffmpegArgs(ts.publishURL("k-alice"), 10)...)

			var index []byte
			checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
				resp, body, err := get(ts.hlsURL("alice", "index.m3u8"))
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("index.m3u8: %s", resp.Status)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != cachePlaylist {
					t.Errorf("index.m3u8 Cache-Control %q, want %q", cc, cachePlaylist)
				}
				index = body
				return nil
			})
			t.Logf("%s: playable %.2fs after ffmpeg started", tc.variant, time.Since(start).Seconds())
			media, err := mediaPlaylist(index)
			if err != nil {
				t.Fatal(err)
			}

			if tc.variant == VariantLowLatency {
				blockingReload(t, ts.hlsURL("alice", media))
			}

			probe := make(chan probeResult, 1)
			go func() { probe <- ffprobe(ts.hlsURL("alice", "index.m3u8")) }()

			// Poll the media playlist until ffmpeg ends: latency of every
			// segment/part, and download every segment once.
			var lat latencies
			var last []byte
			var stats Stats
			reg := prometheus.NewRegistry()
			if err := ts.Register(reg); err != nil {
				t.Fatal(err)
			}
			var families []*dto.MetricFamily
			var total time.Duration
			dir := t.TempDir()
			joined, err := os.Create(filepath.Join(dir, "all"))
			if err != nil {
				t.Fatal(err)
			}
			fetched := map[string]bool{}
			first := true
			for done := false; !done; {
				select {
				case err := <-src.done:
					src.done <- err
					done = true
				case <-time.After(50 * time.Millisecond):
				}
				resp, body, err := get(ts.hlsURL("alice", media))
				now := time.Now()
				if err != nil || resp.StatusCode != http.StatusOK {
					continue // the stream ended
				}
				last = body
				if st, ok := ts.Stats("alice"); ok {
					stats = st
				}
				items, _ := parseMedia(body)
				lat.observe(items, now, first)
				first = false
				if init := mapURI(body); init != "" && !fetched[init] {
					fetched[init] = true
					downloadTo(t, joined, ts.hlsURL("alice", init))
				}
				if mf, err := reg.Gather(); err == nil && len(mf) > len(families) {
					families = mf
				}
				for _, seg := range segments(body) {
					if !fetched[seg.uri] {
						fetched[seg.uri] = true
						downloadTo(t, joined, ts.hlsURL("alice", seg.uri))
						total += seg.dur
					}
				}
			}
			joined.Close()
			if len(last) == 0 {
				t.Fatal("no media playlist fetched")
			}
			ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
			t.Logf("%s: frame ingest→listed latency over %d frames: p50 %v p99 %v (goal %v); segment/part end→listed over %d: p50 %v p99 %v",
				tc.variant, len(lat.d), ms(percentile(lat.d, 0.5)), ms(percentile(lat.d, 0.99)), tc.goal,
				len(lat.item), ms(percentile(lat.item, 0.5)), ms(percentile(lat.item, 0.99)))
			if len(lat.item) < 3 {
				t.Errorf("only %d latency samples", len(lat.item))
			}
			if p99 := percentile(lat.d, 0.99); p99 > tc.goal {
				t.Errorf("p99 latency %v over the %v goal", p99, tc.goal)
			}

			// Ingest metrics of the test source: 30 fps, a keyframe a second.
			t.Logf("%s: stats while live: %+v", tc.variant, stats)
			if stats.FPS < 15 || stats.FPS > 45 || // wall-clock rate: loose on a loaded CI machine stats.KeyframeInterval < 900*time.Millisecond ||
				stats.KeyframeInterval > 1100*time.Millisecond || stats.Bitrate <= 0 || stats.AudioFrames == 0 ||
				stats.ListingLatency <= 0 || stats.ListingLatency > tc.goal || stats.Viewers < 1 { // this test and ffprobe: 2
				t.Errorf("stats %+v", stats)
			}
			names := map[string]bool{}
			for _, mf := range families {
				names[mf.GetName()] = true
			}
			for _, n := range []string{"salam_ingest_fps", "salam_ingest_bitrate_bits_per_second", "salam_ingest_keyframe_interval_seconds",
				"salam_ingest_dropped_frames_total", "salam_ingest_listing_latency_seconds", "salam_ingest_viewers"} {
				if !names[n] {
					t.Errorf("metric %s not exported", n)
				}
			}

			pr := <-probe
			if pr.err != nil {
				t.Fatalf("ffprobe %s: %v", media, pr.err)
			}
			if !pr.has("video", "h264", 640, 360) || !pr.has("audio", "aac", 0, 0) {
				t.Errorf("ffprobe on the HLS URL: %+v, want h264 640x360 and aac", pr.Streams)
			}
			got := ffprobe(joined.Name())
			if got.err != nil {
				t.Fatal(got.err)
			}
			// fMP4 variants carry audio in a rendition playlist of its own.
			if !got.has("video", "h264", 640, 360) || (tc.variant == VariantMPEGTS && !got.has("audio", "aac", 0, 0)) {
				t.Errorf("ffprobe on the segments: %+v", got.Streams)
			}
			if d := got.duration(); total < 4*time.Second || d < total-500*time.Millisecond || d > total+500*time.Millisecond {
				t.Errorf("segments last %v by ffprobe, playlists say %v", d, total)
			}

			if err := src.wait(t, 15*time.Second); err != nil {
				t.Errorf("ffmpeg: %v", err)
			}
			checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
				if resp, _, err := get(ts.hlsURL("alice", "index.m3u8")); err != nil || resp.StatusCode != http.StatusNotFound {
					return fmt.Errorf("index.m3u8 after the end: %v %v", resp.Status, err)
				}
				ev := ts.events.all()
				if len(ev) != 2 || ev[0] != "start alice" || !strings.HasPrefix(ev[1], "stop alice") {
					return fmt.Errorf("lifecycle events %q", ev)
				}
				return nil
			})
		})
	}
}

type segment struct {
	uri string
	dur time.Duration
}

// segments lists the complete segments of a media playlist.
func segments(body []byte) []segment {
	var out []segment
	var d time.Duration
	gap := false
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#EXTINF:"):
			d = seconds(strings.SplitN(strings.TrimPrefix(line, "#EXTINF:"), ",", 2)[0])
		case line == "#EXT-X-GAP":
			gap = true
		case line != "" && !strings.HasPrefix(line, "#"):
			if !gap {
				out = append(out, segment{line, d})
			}
			gap = false
		}
	}
	return out
}

// mapURI is the init file of an fMP4 media playlist.
func mapURI(body []byte) string {
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "#EXT-X-MAP:"); ok {
			return attrList(v)["URI"]
		}
	}
	return ""
}

func downloadTo(t *testing.T, f *os.File, url string) {
	t.Helper()
	resp, body, err := get(url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("GET %s: %s, %d bytes", url, resp.Status, len(body))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != cacheSegment {
		t.Errorf("%s Cache-Control %q, want %q", url, cc, cacheSegment)
	}
	f.Write(body)
}

type probeResult struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
	} `json:"streams"`
	Format struct {
		Duration  string `json:"duration"`
		StartTime string `json:"start_time"`
	} `json:"format"`
	err error
}

func (p probeResult) has(typ, codec string, w, h int) bool {
	for _, s := range p.Streams {
		if s.CodecType == typ && s.CodecName == codec && s.Width == w && s.Height == h {
			return true
		}
	}
	return false
}

// duration is the media time the file covers (fMP4 segments of gohlslib
// start at 10 s of media time, TS ones where the stream started).
func (p probeResult) duration() time.Duration {
	return seconds(p.Format.Duration) - seconds(p.Format.StartTime)
}

func ffprobe(target string) probeResult {
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"stream=codec_type,codec_name,width,height:format=duration,start_time", "-of", "json", target).Output()
	var p probeResult
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		p.err = err
		return p
	}
	p.err = json.Unmarshal(out, &p)
	return p
}

// blockingReload asks an LL-HLS media playlist for the next segment
// (_HLS_msn, RFC 8216bis §6.2.5.2): the server holds the request until that
// segment exists, then answers with it listed.
func blockingReload(t *testing.T, url string) {
	t.Helper()
	_, body, err := get(url)
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	if !strings.Contains(text, "CAN-BLOCK-RELOAD=YES") {
		t.Fatalf("LL-HLS playlist without CAN-BLOCK-RELOAD:\n%s", text)
	}
	next := nextMSN(body)
	start := time.Now()
	resp, body, err := get(fmt.Sprintf("%s?_HLS_msn=%d", url, next))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("blocking reload: %v %v", resp, err)
	}
	// The answer lists segment next, or parts of it (part 0 was asked).
	text = string(body)
	lastURI := strings.LastIndex(text, "\n"+strings.TrimSpace(segmentsAll(body)))
	if got := nextMSN(body); got < next || got == next && !strings.Contains(text[lastURI+1:], "#EXT-X-PART:") {
		t.Errorf("blocking reload for segment %d answered without it (next %d):\n%s", next, got, body)
	}
	t.Logf("blocking reload for segment %d answered after %v", next, time.Since(start).Round(time.Millisecond))
}

// nextMSN is the media sequence number the next segment of a playlist
// will have: EXT-X-MEDIA-SEQUENCE plus the segments listed (gaps included).
func nextMSN(body []byte) int {
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"); ok {
			fmt.Sscan(v, &n)
		} else if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

// segmentsAll is the last segment URI of a playlist, gaps included.
func segmentsAll(body []byte) string {
	last := ""
	for _, line := range strings.Split(string(body), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			last = line
		}
	}
	return last
}
