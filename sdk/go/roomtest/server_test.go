package roomtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// salamBin is the server, built from the repository by TestMain and run as
// a subprocess, the way apps meet it. (The SDK's own tests do the same;
// their helpers live in another module, so the few needed are here again.)
var salamBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "salam-roomtest")
	if err != nil {
		panic(err)
	}
	salamBin = filepath.Join(dir, "salam")
	build := exec.Command("go", "build", "-o", salamBin, "./cmd/salam")
	build.Dir = "../../.." // the server's own module
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building salam: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a salam up subprocess; its SFU gathers loopback candidates only.
type server struct {
	cmd  *exec.Cmd
	addr string
	data string
	done chan struct{}
}

var listenRe = regexp.MustCompile(`listening on (\S+)`)

// testConfig escalates calls of three and lifts the rate limits that would
// pace the test.
const testConfig = `edge:
  frame_rate: 100000
  frame_burst: 100000
calls:
  sfu_threshold: 2
dev_turn:
  enabled: false
`

func startSalam(t testing.TB) *server {
	t.Helper()
	data := t.TempDir()
	cfg := filepath.Join(data, "test.yaml")
	if err := os.WriteFile(cfg, []byte(testConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(salamBin, "up", "--listen", "127.0.0.1:0", "--data", data, "--config", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, data: data, done: make(chan struct{})}
	t.Cleanup(func() { cmd.Process.Kill(); <-s.done })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
		close(s.done)
	}()
	select {
	case s.addr = <-found:
	case <-s.done:
		t.Fatal("salam up exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("salam up did not announce its address")
	}
	return s
}

func (s *server) url() string { return "ws://" + s.addr + "/v1/ws" }

// token mints a dev token the server accepts.
func (s *server) token(t testing.TB, user string) string {
	t.Helper()
	out, err := exec.Command(salamBin, "token", "--user", user, "--data", s.data).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func (s *server) rest(t testing.TB, token, method, path string, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://"+s.addr+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := noKeepAlive.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// group creates a group owned by owner's token with the other users in it.
func (s *server) group(t testing.TB, id, owner string, members ...string) {
	t.Helper()
	if code := s.rest(t, owner, "POST", "/v1/channels", map[string]any{"id": id, "name": id, "kind": "group"}); code != 201 {
		t.Fatalf("create %s: %d", id, code)
	}
	for _, m := range members {
		if code := s.rest(t, owner, "POST", "/v1/channels/"+id+"/members", map[string]any{"user": m}); code/100 != 2 {
			t.Fatalf("add %s to %s: %d", m, id, code)
		}
	}
}

// waitFor polls cond until it holds or fails the test after timeout;
// explain describes the state for the failure message.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool, explain func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, explain())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
