package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/wire"
)

// streamkey runs `salam streamkey` and returns its two lines: the publish
// URL and the playback URL.
func streamkey(t *testing.T, args ...string) (publish, playback string) {
	t.Helper()
	out, err := exec.Command(salamBin, append([]string{"streamkey"}, args...)...).Output()
	if err != nil {
		t.Fatalf("salam streamkey %v: %v", args, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "rtmp://") || !strings.HasSuffix(lines[1], "/index.m3u8") {
		t.Fatalf("salam streamkey printed %q, want two lines: rtmp://HOST:1935/live/<key> and http://HOST:8888/live/<name>/index.m3u8", out)
	}
	return lines[0], lines[1]
}

// TestLiveEndToEnd runs salam up with ingest, issues a key with salam
// streamkey, publishes with ffmpeg and follows the live room: playlist,
// room status and viewer count over REST, chat subscription to the room's
// broadcast channel and a viewer posting in it, the room ending after the grace period, a wrong key
// and a revoked key refused.
func TestLiveEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed (apt-get install ffmpeg; .ci/deps installs it for CI)")
	}
	if out, err := exec.Command(salamBin, "streamkey", "--data", t.TempDir()).CombinedOutput(); err == nil || !strings.Contains(string(out), "--user is required") {
		t.Errorf("streamkey without --user: %v %s", err, out)
	}
	data := t.TempDir()
	conf := filepath.Join(data, "salam.yaml")
	os.WriteFile(conf, []byte("live:\n  grace_period: 1s\nedge:\n  presence_beat: 300ms\n"), 0o600)
	up := start(t, "up", "--listen", "127.0.0.1:0", "--data", data, "--rtmp", "127.0.0.1:0", "--hls", "127.0.0.1:0", "--config", conf)
	if up.rtmp == "" || up.hls == "" {
		t.Fatalf("salam up did not announce rtmp and hls addresses")
	}
	// up announces localhost; ffmpeg and Go dial 127.0.0.1, where it listens.
	_, rtmpPort, _ := net.SplitHostPort(up.rtmp)
	_, hlsPort, _ := net.SplitHostPort(up.hls)
	publish, playback := streamkey(t, "--user", "alice", "--data", data, "--rtmp", ":"+rtmpPort, "--hls", ":"+hlsPort, "--host", "127.0.0.1")
	name := strings.TrimSuffix(strings.TrimPrefix(playback, "http://127.0.0.1:"+hlsPort+"/live/"), "/index.m3u8")
	if !strings.HasPrefix(publish, "rtmp://127.0.0.1:"+rtmpPort+"/live/live_") || strings.Contains(name, "/") {
		t.Fatalf("streamkey printed %s and %s", publish, playback)
	}
	aliceTok, bobTok := devToken(t, data, "alice"), devToken(t, data, "bob")

	// A wrong key is refused at publish, and ffmpeg says why.
	bad := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-t", "3",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", "rtmp://127.0.0.1:"+rtmpPort+"/live/live_wrong")
	var stderr bytes.Buffer
	bad.Stderr = &stderr
	if err := bad.Run(); err == nil || !strings.Contains(stderr.String(), "bad stream key") {
		t.Errorf("publish with a wrong key: %v, stderr %q", err, tail(stderr.String()))
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ff := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine", "-t", "8",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", publish)
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	ffDone := make(chan error, 1)
	go func() { ffDone <- ff.Wait() }()

	waitFor(t, 20*time.Second, "the playlist", func() bool {
		resp, err := http.Get(playback)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	type room struct {
		Stream, Channel string
		Live            bool
		Viewers         int
		ChatViewers     int    `json:"chat_viewers"`
		StartedAt       string `json:"started_at"`
		EndedAt         string `json:"ended_at"`
	}
	var r room
	var code int
	waitFor(t, 15*time.Second, "the room live with one viewer", func() bool {
		http.Get(playback) // a viewer
		r = room{}
		code = rest(t, up.addr, bobTok, "GET", "/v1/live/streams/"+name, nil, &r)
		return code == 200 && r.Live && r.Viewers >= 1
	}, func() string { return fmt.Sprintf("%d %+v", code, r) })
	if r.Channel != "live-"+name {
		t.Errorf("room channel %q", r.Channel)
	}
	// Anyone may subscribe to the room's chat: a public broadcast channel.
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	bob := connect(t, up.addr, bobTok)
	if err := bob.Subscribe(sctx, r.Channel); err != nil {
		t.Fatalf("bob subscribes to the room: %v", err)
	}
	waitFor(t, 10*time.Second, "bob counted as a viewer of the room", func() bool {
		r = room{}
		rest(t, up.addr, bobTok, "GET", "/v1/live/streams/"+name, nil, &r)
		return r.ChatViewers == 1 && r.Viewers >= 2
	}, func() string { return fmt.Sprintf("%+v", r) })
	alice := connect(t, up.addr, aliceTok)
	if ack, err := alice.Call(sctx, &wire.Frame{Type: wire.TypePublish, Channel: r.Channel, Data: []byte("hello viewers"), MsgID: "m1"}, nil); err != nil || ack.Seq != 1 {
		t.Fatalf("alice posts in her room: %+v %v", ack, err)
	}
	// The room is open: bob, a viewer and no member, chats and reacts in it.
	if ack, err := bob.Call(sctx, &wire.Frame{Type: wire.TypePublish, Channel: r.Channel, Data: []byte("hi alice"), MsgID: "b1"}, nil); err != nil || ack.Seq != 2 {
		t.Fatalf("bob, a viewer, posts in the room: %+v %v", ack, err)
	}
	if code := rest(t, up.addr, bobTok, "PUT", "/v1/channels/"+r.Channel+"/messages/1/reactions/%F0%9F%91%8F", nil, nil); code != 200 {
		t.Errorf("bob reacts in the room: %d, want 200", code)
	}

	select {
	case err := <-ffDone:
		if err != nil {
			t.Fatalf("ffmpeg: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ffmpeg did not end")
	}
	waitFor(t, 10*time.Second, "the room ended after the grace period", func() bool {
		r = room{}
		rest(t, up.addr, bobTok, "GET", "/v1/live/streams/"+name, nil, &r)
		return !r.Live
	})

	// Revoked over REST, the key no longer publishes.
	var keys struct{ Keys []struct{ ID, Stream string } }
	if code := rest(t, up.addr, aliceTok, "GET", "/v1/live/keys", nil, &keys); code != 200 || len(keys.Keys) != 1 || keys.Keys[0].Stream != name {
		t.Fatalf("alice's keys: %d %+v", code, keys)
	}
	if code := rest(t, up.addr, bobTok, "DELETE", "/v1/live/keys/"+keys.Keys[0].ID, nil, nil); code != 404 {
		t.Errorf("bob revokes alice's key: %d, want 404", code)
	}
	if code := rest(t, up.addr, aliceTok, "DELETE", "/v1/live/keys/"+keys.Keys[0].ID, nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	again := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-t", "3",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", publish)
	stderr.Reset()
	again.Stderr = &stderr
	if err := again.Run(); err == nil || !strings.Contains(stderr.String(), "bad stream key") {
		t.Errorf("publish with a revoked key: %v, stderr %q", err, tail(stderr.String()))
	}
}

func tail(s string) string {
	if len(s) > 600 {
		return s[len(s)-600:]
	}
	return s
}

// TestStreamkeyOnPostgres: salam streamkey --postgres issues a key that
// salam up on the same database lists over REST.
func TestStreamkeyOnPostgres(t *testing.T) {
	url := testServer(t, "SALAM_TEST_POSTGRES")
	data := t.TempDir()
	user := fmt.Sprintf("erin-%d", time.Now().UnixNano()) // the database outlives test runs
	_, playback := streamkey(t, "--user", user, "--postgres", url, "--data", data)
	up := start(t, "up", "--listen", "127.0.0.1:0", "--data", data, "--postgres", url)
	var keys struct {
		Keys []struct {
			PlaybackURL string `json:"playback_url"`
		}
	}
	tok := devToken(t, data, user)
	name := func(u string) string { return strings.TrimSuffix(u[strings.Index(u, "/live/")+6:], "/index.m3u8") }
	if code := rest(t, up.addr, tok, "GET", "/v1/live/keys", nil, &keys); code != 200 || len(keys.Keys) != 1 ||
		name(keys.Keys[0].PlaybackURL) != name(playback) {
		t.Fatalf("keys on postgres: %d %+v, streamkey printed %s", code, keys, playback)
	}
}
