package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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
	done chan error
}

var (
	listenRe = regexp.MustCompile(`listening on (\S+)`)
	natsRe   = regexp.MustCompile(`clients at (nats://\S+)`)
)

// start runs `salam args...` and waits until it announces its address.
func start(t *testing.T, args ...string) *proc {
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

func devToken(t *testing.T, data, user string) string {
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

// The embedded default end to end: salam up, a dev token from salam token,
// publish/subscribe through the in-process NATS and core, then SIGTERM
// drains: a reconnect frame, close 4006, exit status 0.
func TestUpEndToEnd(t *testing.T) {
	data := t.TempDir()
	up := start(t, "up", "--listen", "127.0.0.1:0", "--data", data)
	tok := devToken(t, data, "alice")
	sub := connect(t, up.addr, tok)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sub.Subscribe(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	pub := connect(t, up.addr, devToken(t, data, "bob"))
	ack, err := pub.Call(ctx, &wire.Frame{Type: wire.TypePublish, Channel: "lobby", Data: []byte("hi"), MsgID: "c1"}, nil)
	if err != nil || ack.Seq != 1 {
		t.Fatalf("publish ack %+v, %v", ack, err)
	}
	var ev wire.Frame
	if err := sub.Read(&ev); err != nil || ev.Type != wire.TypeEvent || ev.From != "bob" || string(ev.Data) != "hi" {
		t.Fatalf("event %+v, %v", ev, err)
	}

	up.cmd.Process.Signal(syscall.SIGTERM)
	sub.NetConn().SetReadDeadline(time.Now().Add(15 * time.Second))
	if err := sub.Read(&ev); err != nil || ev.Type != wire.TypeReconnect {
		t.Fatalf("want reconnect frame, got %+v, %v", ev, err)
	}
	sub.Close()
	pub.Close()
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
	for _, c := range conns[:40] {
		if err := c.Subscribe(ctx, "shared"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conns[79].Call(ctx, &wire.Frame{Type: wire.TypePublish, Channel: "shared", Data: []byte("x")}, nil); err != nil {
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
