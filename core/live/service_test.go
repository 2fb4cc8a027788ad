package live_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/core/live"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/internal/openapitest"
	"github.com/salamhq/salam/storage/sqlite"
)

type fixture struct {
	t     *testing.T
	nc    *nats.Conn
	svc   *live.Service
	store *sqlite.Store
}

func newFixture(t *testing.T, cfg live.Config) *fixture {
	t.Helper()
	_, nc := bustest.Start(t)
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "live.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, err := live.NewService(nc, store, store, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	return &fixture{t: t, nc: nc, svc: svc, store: store}
}

func checkFor(t *testing.T, timeout time.Duration, f func() error) {
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
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	openapitest.Load(t, "openapi.yaml").CheckRoutes(t, live.Routes())
}

func TestOpenAPIDocumentsErrors(t *testing.T) {
	openapitest.Load(t, "openapi.yaml").CheckErrors(t)
}

// TestAPI: keys are issued (the secret once), listed without secrets,
// revoked by their owner only; bad bodies get problems; every answer is
// as documented.
func TestAPI(t *testing.T) {
	f := newFixture(t, live.Config{MaxKeysPerUser: 3})
	doc := openapitest.Load(t, "openapi.yaml")
	api := live.NewAPI(f.svc, func(r *http.Request) (string, error) {
		if u := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); u != "" {
			return u, nil
		}
		return "", errors.New("no token")
	})
	do := func(user, method, path, ctype, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if user != "" {
			req.Header.Set("Authorization", "Bearer "+user)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		raw, _ := io.ReadAll(rec.Body)
		doc.CheckResponse(t, method, path, rec.Code, rec.Header(), raw)
		var out map[string]any
		json.Unmarshal(raw, &out)
		return rec.Code, out
	}
	const js = "application/json"
	code, k := do("alice", "POST", "/v1/live/keys", js, `{"stream":"alice-show","record":true}`)
	secret, _ := k["key"].(string)
	if code != 201 || !strings.HasPrefix(secret, "live_") || k["publish_url"] != "rtmp://localhost:1935/live/"+secret ||
		k["playback_url"] != "http://localhost:8888/live/alice-show/index.m3u8" {
		t.Fatalf("create: %d %v", code, k)
	}
	if got, err := f.store.StreamKeyByHash(t.Context(), live.HashKey(secret)); err != nil || got.Stream != "alice-show" || !got.Record {
		t.Errorf("stored key %+v %v", got, err)
	}
	for _, tc := range []struct {
		name, user, ctype, body string
		status                  int
		code                    float64
	}{
		{"no token", "", js, `{}`, 401, 8},
		{"taken stream", "bob", js, `{"stream":"alice-show"}`, 409, 102},
		{"bad stream", "bob", js, `{"stream":"Bad Name"}`, 400, 2},
		{"unknown field", "bob", js, `{"streem":"x"}`, 400, 2},
		{"not JSON", "bob", "text/plain", `x`, 415, 2},
		{"too large", "bob", js, `{"stream":"` + strings.Repeat("a", 5000) + `"}`, 413, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, p := do(tc.user, "POST", "/v1/live/keys", tc.ctype, tc.body); code != tc.status || p["code"] != tc.code {
				t.Errorf("%d %v, want %d code %v", code, p, tc.status, tc.code)
			}
		})
	}
	for range 2 { // no body: a drawn name
		if code, k := do("alice", "POST", "/v1/live/keys", "", ""); code != 201 || k["stream"] == "" {
			t.Fatalf("create without a body: %d %v", code, k)
		}
	}
	if code, p := do("alice", "POST", "/v1/live/keys", "", ""); code != 409 {
		t.Errorf("a fourth key over max_keys_per_user 3: %d %v", code, p)
	}
	code, list := do("alice", "GET", "/v1/live/keys", "", "")
	keys, _ := list["keys"].([]any)
	if code != 200 || len(keys) != 3 {
		t.Fatalf("list: %d %v", code, list)
	}
	first := keys[0].(map[string]any)
	if first["key"] != nil || first["publish_url"] != nil || first["stream"] != "alice-show" {
		t.Errorf("listed key shows its secret or is not the first: %v", first)
	}
	id := first["id"].(string)
	if code, _ := do("bob", "DELETE", "/v1/live/keys/"+id, "", ""); code != 404 {
		t.Errorf("bob revokes alice's key: %d", code)
	}
	if code, _ := do("alice", "DELETE", "/v1/live/keys/"+id, "", ""); code != 204 {
		t.Errorf("revoke: %d", code)
	}
	if code, p := do("bob", "GET", "/v1/live/streams/alice-show", "", ""); code != 200 || p["live"] != false || p["channel"] != "live-alice-show" {
		t.Errorf("stream status: %d %v", code, p)
	}
	if code, _ := do("bob", "GET", "/v1/live/streams/Not%20Valid", "", ""); code != 404 {
		t.Errorf("invalid stream name: %d", code)
	}
}

func checkKey(t *testing.T, nc *nats.Conn, secret string) bus.LiveKeyReply {
	t.Helper()
	data, _ := json.Marshal(bus.LiveKeyCheck{Hash: live.HashKey(secret)})
	msg, err := nc.Request(bus.LiveKeySubject, data, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r bus.LiveKeyReply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestKeyCheck: ingest's check over NATS resolves a valid key to its
// stream, and refuses unknown and revoked keys.
func TestKeyCheck(t *testing.T) {
	f := newFixture(t, live.Config{})
	secret, k, err := f.svc.IssueKey(t.Context(), "alice", "show", true)
	if err != nil {
		t.Fatal(err)
	}
	if r := checkKey(t, f.nc, secret); r != (bus.LiveKeyReply{Stream: "show", User: "alice", Record: true}) {
		t.Errorf("valid key: %+v", r)
	}
	if r := checkKey(t, f.nc, secret+"x"); r.Error != bus.LiveKeyBad {
		t.Errorf("wrong key: %+v", r)
	}
	if err := f.store.RevokeStreamKey(t.Context(), "alice", k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := checkKey(t, f.nc, secret); r.Error != bus.LiveKeyBad {
		t.Errorf("revoked key: %+v", r)
	}
}

func event(t *testing.T, nc *nats.Conn, ev bus.LiveEvent) {
	t.Helper()
	data, _ := json.Marshal(ev)
	if err := nc.Publish(bus.LiveEventSubject, data); err != nil {
		t.Fatal(err)
	}
}

// TestRoomLifecycle: a start opens the room and its broadcast channel; the
// viewer count follows ingest's reports; a stop ends the room only after
// the grace period, and a restart within it keeps the room.
func TestRoomLifecycle(t *testing.T) {
	f := newFixture(t, live.Config{GracePeriod: 300 * time.Millisecond})
	room := func() live.Room { r, _ := f.svc.Room("show"); return r }
	event(t, f.nc, bus.LiveEvent{Type: bus.LiveStart, Stream: "show", User: "alice"})
	checkFor(t, 5*time.Second, func() error {
		ch, err := f.store.Channel(t.Context(), "live-show")
		if err != nil || !room().Live {
			return fmt.Errorf("room %+v, channel %v", room(), err)
		}
		if ch.Kind != chat.KindBroadcast || !ch.Public || !ch.Open || ch.CreatedBy != "alice" { // open: viewers chat
			t.Fatalf("room channel %+v", ch)
		}
		return nil
	})
	started := room().StartedAt
	event(t, f.nc, bus.LiveEvent{Type: bus.LiveViewers, Stream: "show", Viewers: 7})
	checkFor(t, 5*time.Second, func() error {
		if room().Viewers != 7 {
			return fmt.Errorf("viewers %d", room().Viewers)
		}
		return nil
	})
	// Edges report their subscribers of the room channel; an edge's report
	// replaces its last one and expires after its TTL.
	subs := func(edge string, ttl int64, counts map[string]int) {
		data, _ := json.Marshal(bus.LiveSubs{Edge: edge, TTL: ttl, Counts: counts})
		f.nc.Publish(bus.LiveSubsSubject, data)
	}
	subs("e1", 60000, map[string]int{"show": 3, "other": 5})
	subs("e2", 200, map[string]int{"show": 2})
	checkFor(t, 5*time.Second, func() error {
		if r := room(); r.Viewers != 12 || r.ChatViewers != 5 || r.HLSViewers != 7 {
			return fmt.Errorf("viewers %+v", r)
		}
		return nil
	})
	checkFor(t, 5*time.Second, func() error { // e2's report expired
		if r := room(); r.Viewers != 10 {
			return fmt.Errorf("viewers %+v", r)
		}
		return nil
	})
	if rs := f.svc.Rooms(); len(rs) != 1 || rs[0].Stream != "show" || !rs[0].Live || rs[0].User != "alice" || rs[0].Viewers != 10 {
		t.Errorf("Rooms() = %+v, want show with 10 viewers", rs)
	}
	subs("e1", 60000, nil)
	// A reconnect within the grace period keeps the room.
	event(t, f.nc, bus.LiveEvent{Type: bus.LiveStop, Stream: "show", Reason: "EOF"})
	event(t, f.nc, bus.LiveEvent{Type: bus.LiveStart, Stream: "show", User: "alice"})
	f.nc.Flush()
	time.Sleep(500 * time.Millisecond) // past the grace period: must still be live
	if r := room(); !r.Live || !r.StartedAt.Equal(started) {
		t.Fatalf("after a reconnect within the grace period: %+v", r)
	}
	event(t, f.nc, bus.LiveEvent{Type: bus.LiveStop, Stream: "show"})
	checkFor(t, 5*time.Second, func() error {
		if r := room(); r.Live || r.EndedAt.IsZero() || r.Viewers != 0 || r.ChatViewers != 0 {
			return fmt.Errorf("room after the grace period: %+v", r)
		}
		return nil
	})
	// A second live reuses the channel.
	event(t, f.nc, bus.LiveEvent{Type: bus.LiveStart, Stream: "show", User: "alice"})
	checkFor(t, 5*time.Second, func() error {
		if !room().Live {
			return errors.New("not live again")
		}
		return nil
	})
}
