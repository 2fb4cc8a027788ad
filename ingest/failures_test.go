package ingest

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lightArgs is a cheap publish: 320x240 15 fps ultrafast H.264 + AAC.
func lightArgs(url string, seconds int, video ...string) []string {
	v := []string{"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "15"}
	if len(video) > 0 {
		v = video
	}
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "info", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi", "-i", "sine", "-t", fmt.Sprint(seconds)}
	return append(append(args, v...), "-c:a", "aac", "-f", "flv", url)
}

// waitPlaylist waits until stream name's playlist answers 200.
func waitPlaylist(t *testing.T, ts *testServer, name string) {
	t.Helper()
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		resp, _, err := get(ts.hlsURL(name, "index.m3u8"))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s playlist: %s", name, resp.Status)
		}
		return nil
	})
}

// playing checks that stream name still serves a media playlist whose
// segments move on: a viewer of another stream is unaffected.
func playing(t *testing.T, ts *testServer, name string) {
	t.Helper()
	_, index, err := get(ts.hlsURL(name, "index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	media, err := mediaPlaylist(index)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	_, first, _ := get(ts.hlsURL(name, media))
	segs := segments(first)
	checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		_, now, _ := get(ts.hlsURL(name, media))
		s := segments(now)
		if len(s) == 0 || len(segs) > 0 && s[len(s)-1].uri == segs[len(segs)-1].uri {
			return fmt.Errorf("%s: no new segment", name)
		}
		return nil
	})
}

func logged(t *testing.T, ts *testServer, what ...string) {
	t.Helper()
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		logs := ts.logs.String()
		for _, w := range what {
			if !strings.Contains(logs, w) {
				return fmt.Errorf("log lacks %q", w)
			}
		}
		return nil
	})
}

var twoKeys = keyMap{"k-alice": {Name: "alice", UserID: "alice"}, "k-bob": {Name: "bob", UserID: "bob"}}

// TestRefusedPublishes: a wrong key, a wrong path and a non-H.264 video are
// refused with a logged reason, told to ffmpeg, and start no stream; a
// viewer of another stream is unaffected.
func TestRefusedPublishes(t *testing.T) {
	needFFmpeg(t)
	ts := startServer(t, Config{}, twoKeys)
	startFFmpeg(t, lightArgs(ts.publishURL("k-bob"), 30)...)
	waitPlaylist(t, ts, "bob")
	for _, tc := range []struct {
		name, url, ffmpegSays, logSays string
		video                          []string
	}{
		{"bad key", ts.publishURL("k-mallory"), "bad stream key", "publish refused", nil},
		{"bad path", "rtmp://" + ts.RTMPAddr().String() + "/other/k-alice", "publish path", "publish refused", nil},
		{"not H.264", ts.publishURL("k-alice"), "", "unsupported codec", []string{"-c:v", "flv"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := startFFmpeg(t, lightArgs(tc.url, 6, tc.video...)...)
			err := src.wait(t, 20*time.Second)
			if tc.ffmpegSays != "" && (err == nil || !strings.Contains(src.stderr.String(), tc.ffmpegSays)) {
				t.Errorf("ffmpeg: %v; stderr lacks %q:\n%s", err, tc.ffmpegSays, src.stderr)
			}
			logged(t, ts, tc.logSays)
			if resp, _, _ := get(ts.hlsURL("alice", "index.m3u8")); resp.StatusCode != http.StatusNotFound {
				t.Errorf("alice's playlist: %s, want 404", resp.Status)
			}
		})
	}
	for _, ev := range ts.events.all() {
		if strings.Contains(ev, "alice") {
			t.Errorf("a refused publish made an event: %s", ev)
		}
	}
	playing(t, ts, "bob")
}

// TestStalledPublisher: a publisher that stops sending (SIGSTOP) is
// disconnected after stall_timeout, its stream ends (playlist 404, stop
// event with ErrStalled), and another stream plays on.
func TestStalledPublisher(t *testing.T) {
	needFFmpeg(t)
	ts := startServer(t, Config{StallTimeout: time.Second}, twoKeys)
	startFFmpeg(t, lightArgs(ts.publishURL("k-bob"), 30)...)
	alice := startFFmpeg(t, lightArgs(ts.publishURL("k-alice"), 30)...)
	waitPlaylist(t, ts, "alice")
	waitPlaylist(t, ts, "bob")
	if err := alice.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer alice.cmd.Process.Signal(syscall.SIGCONT)
	logged(t, ts, ErrStalled.Error())
	checkFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		if resp, _, _ := get(ts.hlsURL("alice", "index.m3u8")); resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("alice's playlist %s after the stall", resp.Status)
		}
		for _, ev := range ts.events.all() {
			if ev == "stop alice "+ErrStalled.Error() {
				return nil
			}
		}
		return fmt.Errorf("no stalled stop event in %q", ts.events.all())
	})
	playing(t, ts, "bob")
}

// TestSecondPublisher: with on_second_publisher reject, a second publisher
// on a live key is refused and the first plays on; with replace, the second
// takes over and the first is disconnected.
func TestSecondPublisher(t *testing.T) {
	needFFmpeg(t)
	t.Run("reject", func(t *testing.T) {
		ts := startServer(t, Config{}, twoKeys)
		startFFmpeg(t, lightArgs(ts.publishURL("k-alice"), 30)...)
		waitPlaylist(t, ts, "alice")
		second := startFFmpeg(t, lightArgs(ts.publishURL("k-alice"), 6)...)
		if err := second.wait(t, 20*time.Second); err == nil || !strings.Contains(second.stderr.String(), ErrStreamBusy.Error()) {
			t.Errorf("second publisher: %v, stderr:\n%s", err, second.stderr)
		}
		logged(t, ts, "publish refused", ErrStreamBusy.Error())
		playing(t, ts, "alice")
	})
	t.Run("replace", func(t *testing.T) {
		ts := startServer(t, Config{OnSecondPublisher: SecondReplace}, twoKeys)
		first := startFFmpeg(t, lightArgs(ts.publishURL("k-alice"), 30)...)
		waitPlaylist(t, ts, "alice")
		startFFmpeg(t, lightArgs(ts.publishURL("k-alice"), 30)...)
		if err := first.wait(t, 20*time.Second); err == nil {
			t.Error("the first publisher was not disconnected")
		}
		logged(t, ts, ErrReplaced.Error())
		waitPlaylist(t, ts, "alice")
		playing(t, ts, "alice")
		ev := ts.events.all()
		if len(ev) < 3 || ev[0] != "start alice" || ev[1] != "stop alice "+ErrReplaced.Error() || ev[2] != "start alice" {
			t.Errorf("events %q", ev)
		}
	})
}
