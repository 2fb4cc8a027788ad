package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkFor polls f every interval until it returns nil, failing the test
// with f's last error after timeout.
func checkFor(t testing.TB, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}

// keyMap is a KeyChecker over a fixed map, for tests of the media path (the
// NATS checker against core/live is tested in bus_test.go).
type keyMap map[string]StreamInfo

func (k keyMap) CheckKey(_ context.Context, key string) (StreamInfo, error) {
	if info, ok := k[key]; ok {
		return info, nil
	}
	return StreamInfo{}, ErrBadKey
}

// events records Lifecycle calls.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) Started(info StreamInfo) { e.add("start " + info.Name) }
func (e *events) Stopped(info StreamInfo, reason error) {
	e.add(fmt.Sprintf("stop %s %v", info.Name, reason))
}
func (e *events) add(s string) { e.mu.Lock(); e.log = append(e.log, s); e.mu.Unlock() }
func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

// logBuf is a concurrency-safe log sink, to assert on logged outcomes.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type testServer struct {
	*Server
	logs   *logBuf
	events *events
}

func startServer(t *testing.T, cfg Config, keys KeyChecker) *testServer {
	t.Helper()
	cfg.RTMPListen, cfg.HLSListen = "127.0.0.1:0", "127.0.0.1:0"
	logs, ev := &logBuf{}, &events{}
	h := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(Options{Config: cfg, Keys: keys, Lifecycle: ev, Logger: h})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &testServer{s, logs, ev}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (ts *testServer) publishURL(key string) string {
	return "rtmp://" + ts.RTMPAddr().String() + "/live/" + key
}
func (ts *testServer) hlsURL(name, file string) string {
	return "http://" + ts.HLSAddr().String() + "/live/" + name + "/" + file
}

// needFFmpeg skips the test when ffmpeg or ffprobe is missing.
func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install ffmpeg; .ci/deps installs it for CI): the RTMP→HLS test needs a real encoder", tool)
		}
	}
}

// source is an ffmpeg test publisher.
type source struct {
	cmd    *exec.Cmd
	stderr *logBuf
	done   chan error
}

// ffmpegArgs builds a publish of seconds of 640x360 30 fps test video (one
// keyframe a second) and a sine tone, H.264 + AAC over RTMP, paced in real
// time (-re). vcodec replaces libx264 when not empty.
func ffmpegArgs(url string, seconds int, vcodec ...string) []string {
	v := []string{"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "30"}
	if len(vcodec) > 0 {
		v = vcodec
	}
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", fmt.Sprint(seconds)}
	args = append(args, v...)
	return append(args, "-c:a", "aac", "-b:a", "96k", "-f", "flv", url)
}

func startFFmpeg(t *testing.T, args ...string) *source {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	src := &source{cmd: exec.CommandContext(ctx, "ffmpeg", args...), stderr: &logBuf{}, done: make(chan error, 1)}
	src.cmd.Stderr = src.stderr
	if err := src.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { src.done <- src.cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-src.done:
		case <-time.After(10 * time.Second):
		}
		if t.Failed() {
			t.Logf("ffmpeg stderr:\n%s", src.stderr)
		}
	})
	return src
}

// wait returns ffmpeg's exit error, failing after timeout.
func (src *source) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-src.done:
		src.done <- err
		return err
	case <-time.After(timeout):
		t.Fatalf("ffmpeg still running after %v", timeout)
		return nil
	}
}

func get(url string) (*http.Response, []byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// mediaPlaylist returns the first media playlist named in a multivariant
// playlist.
func mediaPlaylist(multivariant []byte) (string, error) {
	for _, line := range strings.Split(string(multivariant), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return line, nil
		}
	}
	return "", errors.New("no media playlist in the multivariant playlist")
}

func init() {
	// ffmpeg inherits the environment; keep it from reading a user config.
	os.Setenv("AV_LOG_FORCE_NOCOLOR", "1")
}
