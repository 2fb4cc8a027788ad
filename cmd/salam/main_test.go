package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

var salamBin string

// TestMain builds the salam binary once; the tests run it as users do.
func TestMain(m *testing.M) {
	// salam up's live ingest defaults to :1935 and :8888 on every
	// interface; tests stay on loopback with free ports.
	os.Setenv("SALAM_RTMP_LISTEN", "127.0.0.1:0")
	os.Setenv("SALAM_HLS_LISTEN", "127.0.0.1:0")
	dir, err := os.MkdirTemp("", "salam-bin")
	if err != nil {
		panic(err)
	}
	salamBin = filepath.Join(dir, "salam")
	if out, err := exec.Command("go", "build", "-o", salamBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	cmd  *exec.Cmd
	addr string // the HTTP/WebSocket listen address it announced
	nats string // the embedded NATS client URL, when exposed
	rtmp string // the RTMP ingest address, when announced
	hls  string // the HLS address, when announced
	done chan error
}

var (
	listenRe = regexp.MustCompile(`listening on (\S+)`)
	natsRe   = regexp.MustCompile(`clients at (nats://\S+)`)
	rtmpRe   = regexp.MustCompile(`rtmp +rtmp://([^/\s]+)/live`)
	hlsRe    = regexp.MustCompile(`hls +http://([^/\s]+)/live`)
)

// start runs `salam args...` and waits until it announces its address.
func start(t testing.TB, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(salamBin, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	deadline := time.After(20 * time.Second)
	for p.addr == "" || (strings.Contains(strings.Join(args, " "), "--nats-listen") && p.nats == "") {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("salam %v exited before listening", args)
			}
			if m := listenRe.FindStringSubmatch(line); m != nil {
				p.addr = m[1]
			}
			if m := natsRe.FindStringSubmatch(line); m != nil {
				p.nats = m[1]
			}
			if m := rtmpRe.FindStringSubmatch(line); m != nil {
				p.rtmp = m[1]
			}
			if m := hlsRe.FindStringSubmatch(line); m != nil {
				p.hls = m[1]
			}
		case <-deadline:
			t.Fatalf("salam %v did not announce its address", args)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return p
}

// testServer returns the address of a test server that make test starts
// (.ci/services exports it as env): required on CI, else the test skips.
func testServer(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: run the tests through make test (eval \"$(.ci/services)\")", env)
		}
		t.Skipf("%s is not set (eval \"$(.ci/services)\")", env)
	}
	return v
}

func devToken(t testing.TB, data, user string) string {
	t.Helper()
	out, err := exec.Command(salamBin, "token", "--user", user, "--data", data).Output()
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(out))
	if strings.Count(tok, ".") != 2 || strings.Contains(tok, "\n") {
		t.Fatalf("salam token printed %q, want one JWT", out)
	}
	return tok
}

func connect(t *testing.T, addr, token string) *wsclient.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, "ws://"+addr+"/v1/ws", wsclient.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Connect(ctx, "cmd-test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// rest calls the REST API as the token's user and decodes the JSON answer.
func rest(t testing.TB, addr, token, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// The embedded default end to end, as the product spec tells it: alice opens a
// DM with bob over REST and sends in it over the WebSocket; bob, online on
// another connection, receives it with its sequence; bob's read cursor
// reaches alice; a retried send returns the same message; history pages
// back. Then SIGTERM drains: a reconnect frame, exit status 0.
func TestUpEndToEnd(t *testing.T) {
	data := t.TempDir()
	up := start(t, "up", "--listen", "127.0.0.1:0", "--data", data)
	aliceTok, bobTok := devToken(t, data, "alice"), devToken(t, data, "bob")
	var dm struct{ ID string }
	if code := rest(t, up.addr, aliceTok, "POST", "/v1/dms", map[string]string{"user": "bob"}, &dm); code != 201 || dm.ID == "" {
		t.Fatalf("open DM: %d %+v", code, dm)
	}
	var again struct{ ID string }
	if code := rest(t, up.addr, bobTok, "POST", "/v1/dms", map[string]string{"user": "alice"}, &again); code != 200 || again.ID != dm.ID {
		t.Fatalf("DM opened from the other side: %d %+v, want the same channel %s", code, again, dm.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, bob := connect(t, up.addr, aliceTok), connect(t, up.addr, bobTok)
	for _, c := range []*wsclient.Conn{alice, bob} {
		if err := c.Subscribe(ctx, dm.ID); err != nil {
			t.Fatal(err)
		}
	}
	send := &wire.Frame{Type: wire.TypePublish, Channel: dm.ID, Data: []byte("salam, bob"), MsgID: "c1"}
	ack, err := alice.Call(ctx, send, nil)
	if err != nil || ack.Seq != 1 {
		t.Fatalf("publish ack %+v, %v", ack, err)
	}
	var ev wire.Frame
	if err := bob.Read(&ev); err != nil || ev.Type != wire.TypeEvent || ev.From != "alice" || ev.Seq != 1 || string(ev.Data) != "salam, bob" {
		t.Fatalf("bob's event %+v, %v", ev, err)
	}
	// A retry (same client message id) returns the original sequence.
	send.ID = 0
	if ack, err := alice.Call(ctx, send, func(*wire.Frame) {}); err != nil || ack.Seq != 1 {
		t.Fatalf("retry ack %+v, %v", ack, err)
	}
	// Bob reads: alice sees the read receipt.
	if _, err := bob.Call(ctx, &wire.Frame{Type: wire.TypeReceipt, Channel: dm.ID, Seq: 1, Kind: wire.ReceiptRead}, nil); err != nil {
		t.Fatal(err)
	}
	alice.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if err := alice.Read(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == wire.TypeReceipt {
			break
		}
	}
	if ev.From != "bob" || ev.Seq != 1 || ev.Kind != wire.ReceiptRead {
		t.Fatalf("receipt %+v", ev)
	}
	// History pages back.
	for i := 2; i <= 5; i++ {
		if _, err := alice.Call(ctx, &wire.Frame{Type: wire.TypePublish, Channel: dm.ID, MsgID: fmt.Sprint("c", i), Data: []byte{byte(i)}}, func(*wire.Frame) {}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := bob.Call(ctx, &wire.Frame{Type: wire.TypeHistory, Channel: dm.ID, Limit: 2, Before: 5}, func(*wire.Frame) {})
	if err != nil || len(page.Messages) != 2 || page.Messages[0].Seq != 4 || page.Messages[1].Seq != 3 || !page.More {
		t.Fatalf("history %+v, %v", page, err)
	}

	up.cmd.Process.Signal(syscall.SIGTERM)
	bob.NetConn().SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		if err := bob.Read(&ev); err != nil {
			t.Fatalf("want a reconnect frame: %v", err)
		}
		if ev.Type == wire.TypeReconnect {
			break
		}
	}
	alice.Close()
	bob.Close()
	select {
	case err := <-up.done:
		if err != nil {
			t.Fatalf("salam up exited with %v after SIGTERM", err)
		}
		up.done <- nil
	case <-time.After(20 * time.Second):
		t.Fatal("salam up did not exit after SIGTERM and drain")
	}
}

// Several edge processes share one port with SO_REUSEPORT, route over the
// NATS of a salam up, and each accepts connections.
func TestReusePortEdges(t *testing.T) {
	data := t.TempDir()
	up := start(t, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data)
	port := up.addr[strings.LastIndex(up.addr, ":"):]
	edges := []*proc{up}
	for i := 0; i < 3; i++ {
		edges = append(edges, start(t, "edge", "--listen", "127.0.0.1"+port, "--nats", up.nats, "--data", data))
	}
	tok := devToken(t, data, "alice")
	before := map[int]int{}
	for _, e := range edges {
		before[e.cmd.Process.Pid] = openSockets(t, e.cmd.Process.Pid)
	}
	var conns []*wsclient.Conn
	for i := 0; i < 80; i++ {
		conns = append(conns, connect(t, up.addr, tok))
	}
	for _, e := range edges {
		pid := e.cmd.Process.Pid
		if n := openSockets(t, pid); n <= before[pid] {
			t.Errorf("process %d accepted no connection (%d sockets before, %d after)", pid, before[pid], n)
		}
	}
	// Events cross processes: subscriber and publisher very likely on different edges.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if code := rest(t, up.addr, tok, "POST", "/v1/channels", map[string]any{"id": "shared", "name": "Shared", "kind": "broadcast", "public": true}, nil); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	for _, c := range conns[:40] {
		if err := c.Subscribe(ctx, "shared"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conns[79].Call(ctx, &wire.Frame{Type: wire.TypePublish, Channel: "shared", MsgID: "x1", Data: []byte("x")}, func(*wire.Frame) {}); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns[:40] {
		var ev wire.Frame
		c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := c.Read(&ev); err != nil || ev.Type != wire.TypeEvent {
			t.Fatalf("event %+v, %v", ev, err)
		}
	}
}

// openSockets counts the sockets a process holds (listener included).
func openSockets(t *testing.T, pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

func TestTokenNeedsUser(t *testing.T) {
	err := exec.Command(salamBin, "token", "--data", t.TempDir()).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("salam token without --user: %v", err)
	}
}

// salam tuning check exits 3 when the host falls short (this CI host caps
// files at 20,000 per process) and prints the diff table.
func TestTuningCheckExitCode(t *testing.T) {
	out, err := exec.Command(salamBin, "tuning", "check", "edge-50k").Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit %v, want status 3", err)
	}
	if !strings.Contains(string(out), "ulimit nofile") || !strings.Contains(string(out), "short") {
		t.Fatalf("no diff table:\n%s", out)
	}
	if err := exec.Command(salamBin, "tuning", "check").Run(); !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("usage error: %v, want status 2", err)
	}
}

// The production path: salam up with chat on Postgres (SALAM_TEST_POSTGRES,
// started by .ci/services), a DM sent and received, and still there after
// a restart.
func TestUpOnPostgres(t *testing.T) {
	url := testServer(t, "SALAM_TEST_POSTGRES")
	data := t.TempDir()
	addr := freeAddr(t)
	up := start(t, "up", "--listen", addr, "--data", data, "--postgres", url)
	run := time.Now().UnixNano() // the database outlives test runs: fresh users, fresh DM
	tok := devToken(t, data, fmt.Sprintf("carol-%d", run))
	other := fmt.Sprintf("dave-%d", run)
	var dm struct{ ID string }
	if code := rest(t, addr, tok, "POST", "/v1/dms", map[string]string{"user": other}, &dm); code != 201 {
		t.Fatalf("open DM: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := connect(t, addr, tok)
	if err := c.Subscribe(ctx, dm.ID); err != nil {
		t.Fatal(err)
	}
	ack, err := c.Call(ctx, &wire.Frame{Type: wire.TypePublish, Channel: dm.ID, MsgID: "p1", Data: []byte("on postgres")}, func(*wire.Frame) {})
	if err != nil || ack.Seq != 1 {
		t.Fatalf("ack %+v, %v", ack, err)
	}
	c.Close()
	up.cmd.Process.Kill()
	<-up.done
	up.done <- nil
	start(t, "up", "--listen", addr, "--data", data, "--postgres", url)
	var page struct {
		Messages []struct {
			Seq  uint64
			Body string
		}
	}
	if code := rest(t, addr, tok, "GET", "/v1/channels/"+dm.ID+"/messages", nil, &page); code != 200 || len(page.Messages) != 1 || page.Messages[0].Body != "on postgres" {
		t.Fatalf("history after restart: %d %+v", code, page)
	}
}
