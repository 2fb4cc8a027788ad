package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/salamhq/salam/wire"
)

// Presence across processes: bob watches on salam up; alice connects to a
// separate edge process → bob sees her online within a second; that edge is
// killed with SIGKILL → bob sees her offline, with last seen, once her
// presence expires (3 beats of 1 s here).
func TestPresenceAcrossEdges(t *testing.T) {
	t.Run("memory", func(t *testing.T) { presenceAcrossEdges(t) })
	t.Run("redis", func(t *testing.T) { // the production store, shared by core processes
		addr := os.Getenv("SALAM_TEST_REDIS")
		if addr == "" {
			if os.Getenv("CI") != "" {
				t.Fatal("SALAM_TEST_REDIS is not set: run the tests through make test")
			}
			t.Skip("SALAM_TEST_REDIS not set")
		}
		presenceAcrossEdges(t, "--redis", addr)
	})
}

func presenceAcrossEdges(t *testing.T, upArgs ...string) {
	data := t.TempDir()
	cfg := filepath.Join(data, "salam.yaml")
	os.WriteFile(cfg, []byte("edge:\n  presence_beat: 1s\n"), 0o600)
	up := start(t, append([]string{"up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data}, upArgs...)...)
	edge2 := start(t, "edge", "--listen", "127.0.0.1:0", "--nats", up.nats, "--data", data, "--config", cfg)
	run := fmt.Sprint(time.Now().UnixNano()) // Redis outlives test runs: fresh users
	alice, bobUser := "alice-"+run, "bob-"+run
	aliceTok, bobTok := devToken(t, data, alice), devToken(t, data, bobUser)
	var dm struct{ ID string }
	if code := rest(t, up.addr, aliceTok, "POST", "/v1/dms", map[string]string{"user": bobUser}, &dm); code != 201 {
		t.Fatalf("open DM: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bob := connect(t, up.addr, bobTok)
	if err := bob.Subscribe(ctx, dm.ID); err != nil {
		t.Fatal(err)
	}
	waitPresence := func(kind uint8, within time.Duration) wire.Frame {
		t.Helper()
		bob.NetConn().SetReadDeadline(time.Now().Add(within))
		for {
			var f wire.Frame
			if err := bob.Read(&f); err != nil {
				t.Fatalf("waiting for presence kind %d: %v", kind, err)
			}
			if f.Type == wire.TypePresence && f.From == alice && f.Kind == kind {
				return f
			}
		}
	}
	connect(t, edge2.addr, aliceTok)
	waitPresence(wire.PresenceOnline, time.Second+500*time.Millisecond)

	killed := time.Now()
	edge2.cmd.Process.Kill()
	f := waitPresence(wire.PresenceOffline, 10*time.Second)
	if f.Time == 0 || time.Since(killed) > 6*time.Second {
		t.Fatalf("offline %+v after %v", f, time.Since(killed))
	}
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
