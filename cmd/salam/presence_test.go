package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// Presence settings of these tests: short beats so that a killed edge's
// users expire within seconds. The assertions are computed from them.
const (
	testBeat          = 500 * time.Millisecond // edge.presence_beat
	testTTL           = 3 * testBeat           // presence lasts 3 beats
	testExpireEvery   = 250 * time.Millisecond // presence.service.expire_every
	testWindow        = time.Second            // presence.service.window
	testMaxQueryUsers = 3                      // presence.service.max_query_users
	edgeFlush         = 250 * time.Millisecond // edge.presenceFlush: how long an edge batches connects and disconnects
)

// writePresenceConfig writes the config file every process of a test reads.
func writePresenceConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "salam.yaml")
	cfg := fmt.Sprintf("edge:\n  presence_beat: %s\npresence:\n  service:\n    window: %s\n    expire_every: %s\n    max_query_users: %d\n",
		testBeat, testWindow, testExpireEvery, testMaxQueryUsers)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// presenceBackends runs test with presence in memory and on the test Redis
// (SALAM_TEST_REDIS, set by `eval "$(.ci/services)"`; required under CI),
// giving the flags every process of the test takes.
func presenceBackends(t *testing.T, test func(t *testing.T, args ...string)) {
	t.Run("memory", func(t *testing.T) { test(t) })
	t.Run("redis", func(t *testing.T) {
		test(t, "--redis", testServer(t, "SALAM_TEST_REDIS"))
	})
}

// received is a frame and when it arrived.
type received struct {
	wire.Frame
	at time.Time
}

// watcher reads a connection on its own goroutine, so that arrival times
// are exact and requests can be sent while events flow.
type watcher struct {
	c      *wsclient.Conn
	frames chan received
}

func watch(c *wsclient.Conn) *watcher {
	w := &watcher{c: c, frames: make(chan received, 1024)}
	go func() {
		defer close(w.frames)
		for {
			var f wire.Frame
			if err := c.Read(&f); err != nil {
				return
			}
			w.frames <- received{f, time.Now()}
		}
	}()
	return w
}

// next returns the first frame matching match within d, dropping others.
func (w *watcher) next(t *testing.T, d time.Duration, what string, match func(*wire.Frame) bool) received {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case r, ok := <-w.frames:
			if !ok {
				t.Fatalf("connection ended waiting for %s", what)
			}
			if match(&r.Frame) {
				return r
			}
		case <-timeout:
			t.Fatalf("no %s within %v", what, d)
		}
	}
}

// presenceOf waits for a presence change of user to kind.
func (w *watcher) presenceOf(t *testing.T, user string, kind uint8, d time.Duration) received {
	t.Helper()
	return w.next(t, d, fmt.Sprintf("presence %d of %s", kind, user), func(f *wire.Frame) bool {
		return f.Type == wire.TypePresence && f.ID == 0 && f.From == user && f.Kind == kind
	})
}

// query sends a presence query and returns its answer (a presence or an
// error frame).
func (w *watcher) query(t *testing.T, users ...string) wire.Frame {
	t.Helper()
	id := w.c.NextID()
	if err := w.c.Send(&wire.Frame{Type: wire.TypePresence, ID: id, Users: users}); err != nil {
		t.Fatal(err)
	}
	return w.next(t, 5*time.Second, "the answer to a presence query", func(f *wire.Frame) bool { return f.ID == id }).Frame
}

// watchedUser makes two fresh users (Redis outlives test runs) with a DM
// between them, opened on core at coreAddr, and connects the second one,
// the watcher, at watchAddr, subscribed to the DM.
func watchedUser(t *testing.T, data, coreAddr, watchAddr string) (user, userToken, watcherID string, w *watcher) {
	t.Helper()
	run := fmt.Sprint(time.Now().UnixNano())
	user, watcherID = "alice-"+run, "bob-"+run
	userToken = devToken(t, data, user)
	var dm struct{ ID string }
	if code := rest(t, coreAddr, userToken, "POST", "/v1/dms", map[string]string{"user": watcherID}, &dm); code != 201 {
		t.Fatalf("open DM: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := connect(t, watchAddr, devToken(t, data, watcherID))
	if err := c.Subscribe(ctx, dm.ID); err != nil {
		t.Fatal(err)
	}
	return user, userToken, watcherID, watch(c)
}

// Three edge processes share NATS and the presence store of one core
// (`salam up`): alice connects on edge 1, bob watches on edge 3 and sees
// her online within a second; he queries presence over the WebSocket;
// edge 1 is killed with SIGKILL and bob sees alice offline, with a last
// seen, within her presence TTL plus one expiry pass.
func TestPresenceAcrossEdges(t *testing.T) {
	presenceBackends(t, presenceAcrossEdges)
}

func presenceAcrossEdges(t *testing.T, storeArgs ...string) {
	data := t.TempDir()
	cfg := writePresenceConfig(t, data)
	up := start(t, append([]string{"up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data, "--config", cfg}, storeArgs...)...)
	var edges [3]*proc
	for i := range edges {
		edges[i] = start(t, append([]string{"edge", "--listen", "127.0.0.1:0", "--nats", up.nats, "--data", data, "--config", cfg}, storeArgs...)...)
	}
	alice, aliceTok, bob, w := watchedUser(t, data, up.addr, edges[2].addr)
	carol := alice + "-stranger"
	w.presenceOf(t, bob, wire.PresenceOnline, 2*time.Second) // bob's own edge has reported him

	connecting := time.Now()
	connect(t, edges[0].addr, aliceTok)
	online := w.presenceOf(t, alice, wire.PresenceOnline, time.Second)
	t.Logf("online seen on edge 3 %v after alice started connecting on edge 1", online.at.Sub(connecting))

	f := w.query(t, alice, carol, bob, alice)
	want := []wire.Presence{{User: alice, Kind: wire.PresenceOnline}, {User: carol, Kind: wire.PresenceOffline},
		{User: bob, Kind: wire.PresenceOnline}}
	if f.Type != wire.TypePresence || fmt.Sprint(f.Presences) != fmt.Sprint(want) {
		t.Fatalf("query: %+v, want %v", f, want)
	}
	if f := w.query(t, "a", "b", "c", "d"); f.Type != wire.TypeError || f.Code != wire.CodeTooManyUsers {
		t.Fatalf("query over max_query_users: %+v", f)
	}

	killed := time.Now()
	if err := edges[0].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Her last beat is at most a beat old; it lasts testTTL; the next
	// expiry pass finds it within testExpireEvery; then the change is sent.
	within := testTTL + testExpireEvery + 500*time.Millisecond
	offline := w.presenceOf(t, alice, wire.PresenceOffline, within+2*time.Second)
	seen := time.UnixMilli(offline.Time)
	t.Logf("offline seen %v after the kill (bound %v), last seen kill+%v", offline.at.Sub(killed), within, seen.Sub(killed).Round(time.Millisecond))
	if offline.at.Sub(killed) > within {
		t.Errorf("offline after %v, want within %v", offline.at.Sub(killed), within)
	}
	if seen.Before(killed.Add(-testBeat)) || seen.After(killed.Add(testTTL+testExpireEvery)) {
		t.Errorf("last seen %v, want within [kill-%v, kill+%v]", seen.Sub(killed), testBeat, testTTL+testExpireEvery)
	}
	if f := w.query(t, alice); len(f.Presences) != 1 || f.Presences[0] != (wire.Presence{User: alice, Kind: wire.PresenceOffline, LastSeen: offline.Time}) {
		t.Fatalf("query after the kill: %+v", f)
	}
}

// Flapping against a real salam process: one user connects and disconnects
// 100 times in 5 s while a watcher counts the presence frames it receives
// about them. Their number stays within the documented bound (core/presence
// doc, PROTOCOL.md §4, 16), 1 + ⌈(D + edge flush) / window⌉, and the last
// one, like a query, says offline with the last disconnect's time.
func TestPresenceFlapping(t *testing.T) {
	presenceBackends(t, presenceFlapping)
}

func presenceFlapping(t *testing.T, storeArgs ...string) {
	data := t.TempDir()
	cfg := writePresenceConfig(t, data)
	up := start(t, append([]string{"up", "--listen", "127.0.0.1:0", "--data", data, "--config", cfg}, storeArgs...)...)
	alice, aliceTok, _, w := watchedUser(t, data, up.addr, up.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Each cycle holds the connection for a random part of its period: the
	// edge reports the state at each flush, and a fixed hold would alias
	// with the flush ticker (always online, or never).
	const cycles, span = 100, 5 * time.Second
	period := span / cycles
	rnd := rand.New(rand.NewPCG(4, 2))
	begin := time.Now()
	for i := range cycles {
		time.Sleep(time.Until(begin.Add(period * time.Duration(i))))
		c, err := wsclient.Dial(ctx, "ws://"+up.addr+"/v1/ws", wsclient.Options{Token: aliceTok})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Connect(ctx, "flapper"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(begin.Add(period*time.Duration(i) + time.Duration(rnd.Int64N(int64(period))))))
		c.Close()
	}
	d := time.Since(begin)

	// Collect until two windows pass without a frame about alice.
	var events []received
	quiet := 2*testWindow + edgeFlush
	for deadline := time.Now().Add(quiet); time.Now().Before(deadline); {
		select {
		case r, ok := <-w.frames:
			if !ok {
				t.Fatal("watcher connection ended")
			}
			if r.Type == wire.TypePresence && r.From == alice {
				events = append(events, r)
				deadline = later(deadline, r.at.Add(quiet))
			}
		case <-time.After(time.Until(deadline)):
		}
	}
	bound := 1 + int(math.Ceil(float64(d+edgeFlush)/float64(testWindow)))
	var kinds []uint8
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	t.Logf("%d connect/disconnect cycles in %v: %d presence frames %v (bound %d)", cycles, d.Round(time.Millisecond), len(events), kinds, bound)
	if len(events) < 2 || len(events) > bound {
		t.Fatalf("%d presence frames, want 2 to %d", len(events), bound)
	}
	last := events[len(events)-1]
	if last.Kind != wire.PresenceOffline || last.Time < begin.UnixMilli() || last.Time > time.Now().UnixMilli() {
		t.Fatalf("last frame %+v, want offline with the last disconnect's time", last.Frame)
	}
	if f := w.query(t, alice); len(f.Presences) != 1 || f.Presences[0] != (wire.Presence{User: alice, Kind: wire.PresenceOffline, LastSeen: last.Time}) {
		t.Fatalf("final state by query: %+v, want offline last seen %d", f, last.Time)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// The presence query over REST, through an edge process (forwarded to core).
func TestPresenceQueryThroughEdge(t *testing.T) {
	data := t.TempDir()
	up := start(t, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data)
	edge := start(t, "edge", "--listen", "127.0.0.1:0", "--nats", up.nats, "--data", data)
	aliceTok, bobTok := devToken(t, data, "alice"), devToken(t, data, "bob")
	if code := rest(t, up.addr, aliceTok, "POST", "/v1/dms", map[string]string{"user": "bob"}, nil); code != 201 {
		t.Fatalf("open DM: %d", code)
	}
	connect(t, up.addr, aliceTok)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var states []struct {
			User   string
			Online bool
		}
		code := rest(t, edge.addr, bobTok, "GET", "/v1/presence?users=alice,nobody", nil, &states)
		if code == 200 && len(states) == 2 && states[0].Online && !states[1].Online {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence query: %d %+v", code, states)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Presence limits come from the config file and are checked at start.
func TestPresenceConfig(t *testing.T) {
	dir := t.TempDir()
	path := writePresenceConfig(t, dir)
	cfg, err := parseConfig("up", []string{"--config", path, "--data", dir})
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Presence.Service; s.MaxQueryUsers != testMaxQueryUsers || s.QueryConcurrency != 64 || s.ExpireEvery != testExpireEvery {
		t.Fatalf("presence config %+v", s)
	}
	os.WriteFile(path, []byte("presence:\n  service:\n    max_query_users: 5000\n"), 0o600)
	if _, err := parseConfig("up", []string{"--config", path, "--data", dir}); err == nil || !strings.Contains(err.Error(), "max_query_users") {
		t.Fatalf("max_query_users 5000: %v, want an error naming the field", err)
	}
}
