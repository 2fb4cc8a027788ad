package presence_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/storage/memory"
	"github.com/salamhq/salam/wire"
)

// startService starts a presence service on a fresh bus.
func startService(t *testing.T, store presence.Store, aud presence.Audience, cfg presence.Config) (*presence.Service, *nats.Conn) {
	t.Helper()
	_, nc := bustest.Start(t)
	svc, err := presence.NewService(nc, store, aud, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	return svc, nc
}

// ask sends a request as an edge does (a bus.Request holding the client's
// frame) and returns core's reply frame.
func ask(t *testing.T, nc *nats.Conn, user string, data []byte) wire.Frame {
	t.Helper()
	req := bus.Request{User: user, Session: "s-1", Received: time.Now().UnixNano(), Frame: data}
	return frameOf(t)(nc.Request(bus.PresenceQuerySubject, req.AppendMsgpack(nil), 5*time.Second))
}

func query(t *testing.T, nc *nats.Conn, user string, users ...string) wire.Frame {
	t.Helper()
	return ask(t, nc, user, wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypePresence, ID: 7, Users: users}))
}

// countingAudience counts ChannelsOf calls.
type countingAudience struct {
	audience
	calls atomic.Int32
}

func (a *countingAudience) ChannelsOf(ctx context.Context, user string) ([]string, error) {
	a.calls.Add(1)
	return a.audience.ChannelsOf(ctx, user)
}

// The WebSocket query: one state per distinct user in the order asked,
// online, offline with last seen, status text; invisible users offline
// without last seen except to themselves; strangers and unknown users read
// alike; users with nothing to hide cost no membership lookup.
func TestQueryStatesAndPrivacy(t *testing.T) {
	store := memory.NewPresence()
	aud := &countingAudience{audience: audience{"alice": {"dm:ab", "team"}, "bob": {"dm:ab"}, "carol": {"team"},
		"dave": {"elsewhere"}, "erin": {"team"}}}
	_, nc := startService(t, store, aud, presence.Config{})
	ctx := context.Background()
	now := time.Now()
	store.Beat(ctx, "e1", []string{"bob", "carol", "dave", "alice"}, time.Minute, now)
	store.Leave(ctx, "e1", []string{"carol"}, now.Add(time.Second))
	store.SetStatus(ctx, "bob", "di kantor", false)
	store.SetStatus(ctx, "alice", "away", true)

	f := query(t, nc, "alice", "bob", "carol", "bob", "dave", "nobody", "alice")
	want := []wire.Presence{
		{User: "bob", Kind: wire.PresenceOnline, Status: "di kantor"},
		{User: "carol", Kind: wire.PresenceOffline, LastSeen: now.Add(time.Second).UnixMilli()},
		{User: "dave", Kind: wire.PresenceOffline},   // online, but shares no channel with alice
		{User: "nobody", Kind: wire.PresenceOffline}, // never seen
		{User: "alice", Kind: wire.PresenceOnline, Status: "away", Invisible: true},
	}
	if f.Type != wire.TypePresence || len(f.Presences) != len(want) {
		t.Fatalf("reply %+v", f)
	}
	for i := range want {
		if f.Presences[i] != want[i] {
			t.Errorf("presence %d = %+v, want %+v", i, f.Presences[i], want[i])
		}
	}
	if n := aud.calls.Load(); n != 4 { // alice's channels once, then bob, carol and dave; nobody needs none
		t.Errorf("%d membership lookups, want 4", n)
	}
	f = query(t, nc, "erin", "alice")
	if p := f.Presences[0]; p != (wire.Presence{User: "alice", Kind: wire.PresenceOffline, Status: "away"}) {
		t.Errorf("invisible alice seen by erin as %+v", p)
	}
}

// Bad queries are refused with typed codes, never answered with a crash.
func TestQueryRefusals(t *testing.T) {
	_, nc := startService(t, memory.NewPresence(), audience{}, presence.Config{MaxQueryUsers: 3})
	presenceFrame := func(users ...string) []byte {
		return wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypePresence, Users: users})
	}
	for _, tt := range []struct {
		name   string
		user   string
		frame  []byte
		code   wire.Code
		reason string
	}{
		{"no users", "bob", presenceFrame(), wire.CodeBadFrame, "no users to query"},
		{"empty id", "bob", presenceFrame("a", ""), wire.CodeBadFrame, "user id must be 1–256 bytes, got 0"},
		{"long id", "bob", presenceFrame(strings.Repeat("x", 257)), wire.CodeBadFrame, "user id must be 1–256 bytes, got 257"},
		{"over the limit", "bob", presenceFrame("a", "b", "c", "d"), wire.CodeTooManyUsers, "at most 3 users per presence query"},
		{"not a presence frame", "bob", wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeHistory}), wire.CodeBadFrame, "malformed presence query"},
		{"frame not msgpack", "bob", []byte{0xc1}, wire.CodeBadFrame, "malformed presence query"},
		{"no user", "", presenceFrame("a"), wire.CodeBadFrame, "malformed presence query"},
	} {
		f := ask(t, nc, tt.user, tt.frame)
		if f.Type != wire.TypeError || f.Code != tt.code || f.Reason != tt.reason || f.Presences != nil {
			t.Errorf("%s: %+v, want error %d %q", tt.name, f, tt.code, tt.reason)
		}
	}
	if f := query(t, nc, "bob", "a", "b", "a", "c", "b"); f.Type != wire.TypePresence || len(f.Presences) != 3 {
		t.Errorf("5 ids, 3 distinct, limit 3: %+v", f)
	}
	if f := frameOf(t)(nc.Request(bus.PresenceQuerySubject, []byte("not msgpack"), 5*time.Second)); f.Code != wire.CodeBadFrame {
		t.Errorf("garbage request: %+v", f)
	}
}

func TestQueryStoreFailures(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code wire.Code
	}{
		{errors.New("connection refused"), wire.CodeUnavailable},
		{context.DeadlineExceeded, wire.CodeTimeout},
	} {
		_, nc := startService(t, failingStore{memory.NewPresence(), tt.err}, audience{}, presence.Config{})
		if f := query(t, nc, "bob", "alice"); f.Type != wire.TypeError || f.Code != tt.code || !f.Code.Temporary() {
			t.Errorf("store error %v: %+v, want code %d", tt.err, f, tt.code)
		}
	}
}

// blockingAudience holds ChannelsOf of user "slow" until release closes.
type blockingAudience struct {
	audience
	release chan struct{}
	once    sync.Once
	entered chan struct{}
}

func (a *blockingAudience) ChannelsOf(ctx context.Context, user string) ([]string, error) {
	if user == "slow" {
		a.once.Do(func() { close(a.entered) })
		<-a.release
	}
	return a.audience.ChannelsOf(ctx, user)
}

// A query stuck on a slow membership lookup does not hold up the others.
func TestQueriesRunConcurrently(t *testing.T) {
	store := memory.NewPresence()
	aud := &blockingAudience{audience: audience{"slow": {"c"}, "bob": {"c"}, "alice": {"c"}},
		release: make(chan struct{}), entered: make(chan struct{})}
	_, nc := startService(t, store, aud, presence.Config{QueryConcurrency: 2})
	store.Beat(context.Background(), "e1", []string{"alice"}, time.Minute, time.Now())
	slow := make(chan wire.Frame, 1)
	go func() { slow <- query(t, nc, "slow", "alice") }()
	<-aud.entered
	if f := query(t, nc, "bob", "alice"); len(f.Presences) != 1 || f.Presences[0].Kind != wire.PresenceOnline {
		t.Fatalf("bob's query behind the slow one: %+v", f)
	}
	close(aud.release)
	if f := <-slow; len(f.Presences) != 1 || f.Presences[0].Kind != wire.PresenceOnline {
		t.Fatalf("slow query: %+v", f)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg   presence.Config
		field string
	}{
		{presence.Config{Window: -time.Second}, "window"},
		{presence.Config{ExpireEvery: -1}, "expire_every"},
		{presence.Config{MaxQueryUsers: -1}, "max_query_users"},
		{presence.Config{MaxQueryUsers: wire.MaxUsers + 1}, "max_query_users"},
		{presence.Config{QueryConcurrency: -1}, "query_concurrency"},
	} {
		tt.cfg.EnsureDefaults()
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%+v: %v, want an error naming %s", tt.cfg, err, tt.field)
		}
	}
	var c presence.Config
	c.EnsureDefaults()
	if err := c.Validate(); err != nil || c.MaxQueryUsers != 100 || c.QueryConcurrency != 64 || c.Window != time.Second {
		t.Errorf("defaults %+v: %v", c, err)
	}
}
