package salam_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// salamBin is the server, built from the repository by TestMain: the tests
// run it as a subprocess, the way apps meet it.
var salamBin string

func TestMain(m *testing.M) {
	if os.Getenv(publisherEnv) != "" {
		os.Exit(runPublisher())
	}
	dir, err := os.MkdirTemp("", "salam-sdk")
	if err != nil {
		panic(err)
	}
	salamBin = filepath.Join(dir, "salam")
	build := exec.Command("go", "build", "-o", salamBin, "./cmd/salam")
	build.Dir = "../.." // the server's own module
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building salam: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// server is a salam subprocess.
type server struct {
	cmd  *exec.Cmd
	addr string // HTTP/WebSocket address
	nats string // NATS client URL, with --nats-listen
	data string
	done chan struct{}
}

var (
	listenRe = regexp.MustCompile(`listening on (\S+)`)
	natsRe   = regexp.MustCompile(`clients at (nats://\S+)`)
)

// testConfig lifts the publish limits that would pace the tests.
const testConfig = `edge:
  publish_rate: 100000
  publish_burst: 100000
  user_publish_rate: 100000
  user_publish_burst: 100000
  frame_rate: 100000
  frame_burst: 100000
`

// startSalam runs `salam args... --data data --config <testConfig>` and
// waits until it announces its address; it is killed at cleanup.
func startSalam(t testing.TB, data string, args ...string) *server {
	t.Helper()
	cfg := filepath.Join(data, "test.yaml")
	if err := os.WriteFile(cfg, []byte(testConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	args = append(args, "--data", data, "--config", cfg)
	cmd := exec.Command(salamBin, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, data: data, done: make(chan struct{})}
	t.Cleanup(s.kill)
	wantNATS := strings.Contains(strings.Join(args, " "), "--nats-listen")
	found := make(chan struct{})
	announced := found
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := natsRe.FindStringSubmatch(sc.Text()); m != nil {
				s.nats = m[1]
			}
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil && s.addr == "" {
				s.addr = m[1]
			}
			if found != nil && s.addr != "" && (!wantNATS || s.nats != "") {
				close(found)
				found = nil
			}
		}
		cmd.Wait()
		close(s.done)
	}()
	select {
	case <-announced:
	case <-s.done:
		t.Fatalf("salam %v exited before listening", args)
	case <-time.After(30 * time.Second):
		t.Fatalf("salam %v did not announce its address", args)
	}
	return s
}

// kill ends the process with SIGKILL, as a crash would.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

func (s *server) url() string { return "ws://" + s.addr + "/v1/ws" }

// token mints a dev token the server accepts.
func (s *server) token(t testing.TB, user string, ttl ...string) string {
	t.Helper()
	args := []string{"token", "--user", user, "--data", s.data}
	if len(ttl) > 0 {
		args = append(args, "--ttl", ttl[0])
	}
	out, err := exec.Command(salamBin, args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// noKeepAlive: REST helpers leave no idle connection (and goroutine) behind.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// rest calls the REST API as token's user and returns the status.
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

// group creates a public group owned by token's user and joins the others.
func (s *server) group(t testing.TB, id, owner string, members ...string) {
	t.Helper()
	if code := s.rest(t, owner, "POST", "/v1/channels", map[string]any{"id": id, "name": id, "kind": "group", "public": true}); code != 201 {
		t.Fatalf("create %s: %d", id, code)
	}
	for _, m := range members {
		if code := s.rest(t, m, "POST", "/v1/channels/"+id+"/members", map[string]any{"user": userOf(m)}); code/100 != 2 {
			t.Fatalf("join %s: %d", id, code)
		}
	}
}

// userOf reads the sub claim of a dev token.
func userOf(token string) string {
	var claims struct{ Sub string }
	parts := strings.Split(token, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(b, &claims)
	return claims.Sub
}

// freePort returns a loopback address nobody listens on (for an edge that
// must come back on the same port).
func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
