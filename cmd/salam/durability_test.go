package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// A client sends 10,000 messages, retrying on any error with the same
// client message ids, while salam is killed with SIGKILL and restarted on
// the same data. Afterwards the channel holds every message exactly once,
// with gap-free sequences, and every ack the client got names the stored
// sequence of its message.
func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 10,000 messages across a crash")
	}
	const total, window = 10000, 200
	data := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(data, "salam.yaml") // a bulk sender: lift the per-connection rate limits
	os.WriteFile(cfg, []byte("edge:\n  publish_rate: 1000000\n  publish_burst: 1000000\n  user_publish_rate: 1000000\n"+
		"  user_publish_burst: 1000000\n  frame_rate: 1000000\n  frame_burst: 1000000\n"), 0o600)
	up := start(t, "up", "--listen", addr, "--data", data, "--config", cfg)
	tok := devToken(t, data, "alice")
	if code := rest(t, addr, tok, "POST", "/v1/channels", map[string]any{"id": "durable", "name": "Durable", "kind": "group"}, nil); code != 201 {
		t.Fatalf("create channel: %d", code)
	}

	acked := make(map[string]uint64, total) // client id → acknowledged seq
	killed := false
	var c *wsclient.Conn
	for next := 0; len(acked) < total; {
		if c == nil {
			c = dialRetry(t, addr, tok)
		}
		// One window: every id from next on that is not acknowledged yet.
		inFlight := map[uint32]string{}
		for i := next; i < total && len(inFlight) < window; i++ {
			id := fmt.Sprintf("k%05d", i)
			if _, ok := acked[id]; ok {
				continue
			}
			f := &wire.Frame{Type: wire.TypePublish, ID: c.NextID(), Channel: "durable", MsgID: id, Data: []byte(id)}
			if c.Send(f) != nil {
				break
			}
			inFlight[f.ID] = id
		}
		if !killed && len(acked) >= 3000 { // crash with a window in flight: some committed, none acknowledged
			killed = true
			time.Sleep(time.Millisecond)
			up.cmd.Process.Kill() // SIGKILL: no drain, no flush
			<-up.done
			up.done <- nil
			up = start(t, "up", "--listen", addr, "--data", data, "--config", cfg)
		}
		c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
		var r wire.Frame
		for len(inFlight) > 0 {
			if err := c.Read(&r); err != nil {
				c.Close()
				c = nil // reconnect and resend what is not acknowledged
				break
			}
			id, ok := inFlight[r.ID]
			if !ok {
				continue
			}
			delete(inFlight, r.ID)
			if r.Type == wire.TypeAck {
				if prev, dup := acked[id]; dup && prev != r.Seq {
					t.Fatalf("%s acknowledged as seq %d and then %d", id, prev, r.Seq)
				}
				acked[id] = r.Seq
			} // an error (store unavailable, timeout) is retried in a later window
		}
		for next < total && acked[fmt.Sprintf("k%05d", next)] != 0 {
			next++
		}
	}
	c.Close()
	if !killed {
		t.Fatal("never killed")
	}

	// Read the whole channel back, oldest first.
	seen := map[string]uint64{}
	var after uint64
	reader := dialRetry(t, addr, tok)
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := reader.Subscribe(ctx, "durable"); err != nil {
		t.Fatal(err)
	}
	for {
		q := &wire.Frame{Type: wire.TypeHistory, Channel: "durable", Since: after, Limit: 200, Oldest: true}
		page, err := reader.Call(ctx, q, func(*wire.Frame) {})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			if m.Seq != after+1 {
				t.Fatalf("gap: seq %d after %d", m.Seq, after)
			}
			after = m.Seq
			if prev, dup := seen[m.MsgID]; dup {
				t.Fatalf("%s stored twice (seq %d and %d)", m.MsgID, prev, m.Seq)
			}
			seen[m.MsgID] = m.Seq
		}
		if len(page.Messages) == 0 {
			break
		}
	}
	if len(seen) != total || after != total {
		t.Fatalf("stored %d messages up to seq %d, want %d", len(seen), after, total)
	}
	for id, seq := range acked {
		if seen[id] != seq {
			t.Fatalf("%s acknowledged as seq %d but stored as %d", id, seq, seen[id])
		}
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// dialRetry connects, retrying while the server restarts.
func dialRetry(t *testing.T, addr, token string) *wsclient.Conn {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := wsclient.Dial(ctx, "ws://"+addr+"/v1/ws", wsclient.Options{Token: token})
		if err == nil {
			_, err = c.Connect(ctx, "durability-test")
			if err != nil {
				c.Close()
			}
		}
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not reconnect: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
