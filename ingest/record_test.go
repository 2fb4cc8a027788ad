package ingest

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRecording: a stream whose key asks for recording is kept on disk and
// served as a VOD after it ends: an ENDLIST playlist, segments ffprobe reads
// as H.264 + AAC lasting as long as the publish.
func TestRecording(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	ts := startServer(t, Config{RecordDir: dir}, keyMap{"k-alice": {Name: "alice", UserID: "alice", Record: true},
		"k-bob": {Name: "bob", UserID: "bob"}})
	alice := startFFmpeg(t, lightArgs(ts.publishURL("k-alice"), 8)...)
	bob := startFFmpeg(t, lightArgs(ts.publishURL("k-bob"), 3)...)
	for _, src := range []*source{alice, bob} {
		if err := src.wait(t, 30*time.Second); err != nil {
			t.Fatalf("ffmpeg: %v", err)
		}
	}
	logged(t, ts, "recording saved")
	playlists, _ := filepath.Glob(filepath.Join(dir, "*", "*", "index.m3u8"))
	if len(playlists) != 1 || !strings.HasPrefix(playlists[0], filepath.Join(dir, "alice")) {
		t.Fatalf("recordings %q, want alice's only", playlists)
	}
	session := filepath.Base(filepath.Dir(playlists[0]))
	url := "http://" + ts.HLSAddr().String() + "/vod/alice/" + session + "/index.m3u8"
	resp, body, err := get(url)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %v", url, resp.Status, err)
	}
	if !strings.Contains(string(body), "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.HasSuffix(string(body), "#EXT-X-ENDLIST\n") {
		t.Errorf("VOD playlist:\n%s", body)
	}
	var total time.Duration
	for _, s := range segments(body) {
		total += s.dur
		r, _, err := get("http://" + ts.HLSAddr().String() + "/vod/alice/" + session + "/" + s.uri)
		if err != nil || r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != cacheSegment {
			t.Errorf("segment %s: %v %v", s.uri, r.Status, err)
		}
	}
	p := ffprobe(url)
	if p.err != nil || !p.has("video", "h264", 320, 240) || !p.has("audio", "aac", 0, 0) {
		t.Errorf("ffprobe of the VOD: %+v %v", p.Streams, p.err)
	}
	if d := p.duration(); d < 7*time.Second || d > 9*time.Second || total < 7*time.Second {
		t.Errorf("VOD lasts %v (playlist %v), want ~8s", d, total)
	}
	if r, _, _ := get("http://" + ts.HLSAddr().String() + "/vod/alice/" + session + "/..%2f..%2fx"); r.StatusCode != http.StatusNotFound {
		t.Errorf("path escape: %s", r.Status)
	}
}
