package redis

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/storage/presencetest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// openPresence returns a Presence on the test Redis under a fresh prefix.
func openPresence(t testing.TB, opt Options) *Presence {
	t.Helper()
	c := testClient(t)
	opt.Prefix = testPrefix(t, c)
	p, err := NewPresence(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPresenceContract(t *testing.T) {
	testAddr(t)
	presencetest.Run(t, func(t *testing.T) presence.Store { return openPresence(t, Options{}) })
}

func TestPresenceOneShard(t *testing.T) {
	testAddr(t)
	presencetest.Run(t, func(t *testing.T) presence.Store { return openPresence(t, Options{Shards: 1}) })
}

func TestLimiterContract(t *testing.T) {
	testAddr(t)
	presencetest.RunLimiter(t, func(t *testing.T) presencetest.Limiter {
		c := testClient(t)
		l, err := NewLimiter(c, Options{Prefix: testPrefix(t, c)})
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

func TestOpen(t *testing.T) {
	addr := testAddr(t)
	p, err := Open(addr, Options{Prefix: "salamtest:open:"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Get(context.Background(), []string{"nobody"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(addr, Options{Prefix: "bad{"}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Open with a brace in the prefix: %v, want ErrInvalidOptions", err)
	}
}

func TestOptions(t *testing.T) {
	o := Options{}.EnsureDefaults()
	if o.Prefix != DefaultPrefix || o.Shards != DefaultShards || o.Grace != DefaultGrace || o.LastSeenTTL != DefaultLastSeenTTL {
		t.Errorf("defaults %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	for _, bad := range []Options{
		{Prefix: "a}b"}, {Shards: -1}, {Shards: 2000}, {Grace: time.Millisecond}, {LastSeenTTL: time.Second},
	} {
		if err := bad.EnsureDefaults().Validate(); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidOptions", bad, err)
		}
	}
}

// TestKeys checks the key layout and TTLs the package doc promises.
func TestKeys(t *testing.T) {
	p := openPresence(t, Options{})
	ctx, c := context.Background(), p.Client()
	if _, err := p.Beat(ctx, "e1", []string{"alice"}, 20*time.Second, t0); err != nil {
		t.Fatal(err)
	}
	pre := p.opt.Prefix
	var keys []string
	for _, node := range c.Nodes() { // SCAN until the cursor comes back to 0: one call sees only part of a big keyspace
		for cursor := uint64(0); ; {
			e, err := node.Do(ctx, node.B().Scan().Cursor(cursor).Match(pre+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, e.Elements...)
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
	}
	slices.Sort(keys)
	shard := pre + "{pexp:" + strconv.Itoa(p.shard("alice")) + "}"
	want := []string{pre + "{pexp:" + strconv.Itoa(p.shard("alice")) + "}", pre + "{u:alice}:edges", pre + "{u:alice}:info"}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	pttl := func(k string) time.Duration {
		ms, err := c.Do(ctx, c.B().Pttl().Key(k).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		return time.Duration(ms) * time.Millisecond
	}
	if d := pttl(pre + "{u:alice}:edges"); d <= 45*time.Second || d > 50*time.Second {
		t.Errorf("edges TTL %v, want ttl + grace = 50s", d)
	}
	if d := pttl(pre + "{u:alice}:info"); d <= DefaultLastSeenTTL-time.Minute || d > DefaultLastSeenTTL {
		t.Errorf("info TTL %v, want %v", d, DefaultLastSeenTTL)
	}
	score, err := c.Do(ctx, c.B().Zscore().Key(shard).Member("alice").Build()).AsFloat64()
	if err != nil || int64(score) != t0.Add(20*time.Second).UnixMilli() {
		t.Errorf("index score %v, %v; want %d", score, err, t0.Add(20*time.Second).UnixMilli())
	}
	// Expire leaves no index entry behind.
	if got, err := p.Expire(ctx, t0.Add(time.Minute), 10); err != nil || len(got) != 1 {
		t.Fatalf("Expire = %+v, %v", got, err)
	}
	if n, err := c.Do(ctx, c.B().Zcard().Key(shard).Build()).AsInt64(); err != nil || n != 0 {
		t.Errorf("index shard holds %d after Expire, %v", n, err)
	}
}

// TestBackstop: when no Expire runs in time, the edge set's key TTL takes
// the user offline on its own, with the latest expiry (kept in the expiry
// index) as last seen; a later Expire still reports the transition once.
func TestBackstop(t *testing.T) {
	p := openPresence(t, Options{Grace: time.Second})
	ctx, c := context.Background(), p.Client()
	if _, err := p.Beat(ctx, "e1", []string{"u"}, 10*time.Second, t0); err != nil {
		t.Fatal(err)
	}
	// Stand in for the passing of ttl + grace: make the key expire now.
	if err := c.Do(ctx, c.B().Pexpire().Key(p.edgesKey("u")).Milliseconds(1).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := p.Get(ctx, []string{"u"})
		if err != nil {
			t.Fatal(err)
		}
		if !got[0].Online {
			if want := t0.Add(10 * time.Second); !got[0].LastSeen.Equal(want) {
				t.Errorf("LastSeen %v, want the last expiry %v", got[0].LastSeen, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still online 5s after the edge set's TTL")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Expire still reports the transition, late, once.
	got, err := p.Expire(ctx, t0.Add(time.Minute), 10)
	if err != nil || len(got) != 1 || !presence.Equal(got[0], presence.State{User: "u", LastSeen: t0.Add(10 * time.Second)}) {
		t.Errorf("Expire after the backstop = %+v, %v; want u offline at the last expiry", got, err)
	}
	if got, err := p.Expire(ctx, t0.Add(time.Minute), 10); err != nil || len(got) != 0 {
		t.Errorf("second Expire = %+v, %v; want none", got, err)
	}
	came, err := p.Beat(ctx, "e1", []string{"u"}, 10*time.Second, t0.Add(time.Hour))
	if err != nil || !slices.Equal(came, []string{"u"}) {
		t.Errorf("Beat after the backstop = %q, %v; want u", came, err)
	}
}

// TestNoScript: after SCRIPT FLUSH every call still works (scripts are
// loaded again on NOSCRIPT and the commands retried).
func TestNoScript(t *testing.T) {
	p := openPresence(t, Options{})
	ctx, c := context.Background(), p.Client()
	if _, err := p.Beat(ctx, "e1", []string{"a"}, time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	for _, node := range c.Nodes() {
		if err := node.Do(ctx, node.B().ScriptFlush().Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	came, err := p.Beat(ctx, "e1", []string{"a", "b"}, time.Minute, t0)
	if err != nil || !slices.Equal(came, []string{"b"}) {
		t.Fatalf("Beat after SCRIPT FLUSH = %q, %v; want b", came, err)
	}
	for _, node := range c.Nodes() {
		node.Do(ctx, node.B().ScriptFlush().Build())
	}
	if err := p.SetStatus(ctx, "a", "x", false); err != nil {
		t.Fatalf("SetStatus after SCRIPT FLUSH: %v", err)
	}
}

// TestClusterSlots checks that every script's keys hash to one Cluster
// slot, whatever bytes a user id holds.
func TestClusterSlots(t *testing.T) {
	p, err := NewPresence(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "", "{", "}", "a}b", "{x}", "a{b}c", "}}{{", "ü→🙂", strings.Repeat("z", 256)} {
		e, i := keySlot(p.edgesKey(u)), keySlot(p.infoKey(u))
		if e != i {
			t.Errorf("user %q: edges key %q slot %d, info key %q slot %d", u, p.edgesKey(u), e, p.infoKey(u), i)
		}
	}
	// The shards spread over distinct slots.
	seen := map[uint16]bool{}
	for _, k := range p.shards {
		seen[keySlot(k)] = true
	}
	if len(seen) != len(p.shards) {
		t.Errorf("%d shards on %d slots", len(p.shards), len(seen))
	}
}

// keySlot is Redis Cluster's HASH_SLOT: CRC16 (XMODEM) of the hash tag
// (the text between the first '{' and the next '}', if not empty) or of
// the whole key, modulo 16384.
func keySlot(key string) uint16 {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}

func TestKeySlot(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	for key, want := range map[string]uint16{"123456789": 12739, "foo": 12182, "{user1000}.following": 3443, "{user1000}.followers": 3443, "foo{}{bar}": 8363, "foo{{bar}}zap": 4015} {
		if got := keySlot(key); got != want {
			t.Errorf("keySlot(%q) = %d, want %d", key, got, want)
		}
	}
}
