// Package livetest is the contract suite of live.KeyStore: storage/sqlite
// and storage/postgres run it, so that stream keys behave the same on each.
// It is the executable reading of the doc comments in core/live/store.go.
//
// It must not depend on an implementation or run subtests in parallel.
package livetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/salamhq/salam/core/live"
)

// Run runs the suite; open returns a fresh, empty store for one test.
func Run(t *testing.T, open func(t *testing.T) live.KeyStore) {
	t.Run("CreateAndFind", func(t *testing.T) { testCreate(t, open(t)) })
	t.Run("Unique", func(t *testing.T) { testUnique(t, open(t)) })
	t.Run("Revoke", func(t *testing.T) { testRevoke(t, open(t)) })
}

// base is not UTC and finer than a microsecond: stores must normalise it.
var base = time.Date(2026, time.January, 1, 9, 30, 0, 123456789, time.FixedZone("AST", 3*60*60))

func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func same(t *testing.T, got, want live.Key) {
	t.Helper()
	want.CreatedAt = norm(want.CreatedAt)
	if !want.RevokedAt.IsZero() {
		want.RevokedAt = norm(want.RevokedAt)
	}
	if got.ID != want.ID || !bytes.Equal(got.Hash, want.Hash) || got.User != want.User || got.Stream != want.Stream ||
		got.Record != want.Record || !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC ||
		!got.RevokedAt.Equal(want.RevokedAt) {
		t.Errorf("key\n got %+v\nwant %+v", got, want)
	}
}

func testCreate(t *testing.T, s live.KeyStore) {
	secret, k := live.NewKey("alice", "", true, base)
	if err := s.CreateStreamKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	got, err := s.StreamKeyByHash(t.Context(), live.HashKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, k)
	if _, err := s.StreamKeyByHash(t.Context(), live.HashKey(secret+"x")); !errors.Is(err, live.ErrNotFound) {
		t.Errorf("unknown hash: %v, want ErrNotFound", err)
	}
	_, k2 := live.NewKey("alice", "second", false, base.Add(time.Second))
	_, k3 := live.NewKey("bob", "", false, base)
	for _, k := range []live.Key{k2, k3} {
		if err := s.CreateStreamKey(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.UserStreamKeys(t.Context(), "alice")
	if err != nil || len(keys) != 2 {
		t.Fatalf("alice's keys: %v, %v", keys, err)
	}
	same(t, keys[0], k)
	same(t, keys[1], k2)
	if keys, err := s.UserStreamKeys(t.Context(), "carol"); err != nil || len(keys) != 0 {
		t.Errorf("carol's keys: %v, %v", keys, err)
	}
}

func testUnique(t *testing.T, s live.KeyStore) {
	_, k := live.NewKey("alice", "show", false, base)
	if err := s.CreateStreamKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	_, sameStream := live.NewKey("bob", "show", false, base)
	_, sameID := live.NewKey("bob", "other", false, base)
	sameID.ID = k.ID
	_, sameHash := live.NewKey("bob", "third", false, base)
	sameHash.Hash = k.Hash
	for name, dup := range map[string]live.Key{"stream": sameStream, "id": sameID, "hash": sameHash} {
		if err := s.CreateStreamKey(t.Context(), dup); !errors.Is(err, live.ErrExists) {
			t.Errorf("same %s: %v, want ErrExists", name, err)
		}
	}
}

func testRevoke(t *testing.T, s live.KeyStore) {
	secret, k := live.NewKey("alice", "", false, base)
	if err := s.CreateStreamKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeStreamKey(t.Context(), "bob", k.ID, base); !errors.Is(err, live.ErrNotFound) {
		t.Errorf("bob revokes alice's key: %v, want ErrNotFound", err)
	}
	if err := s.RevokeStreamKey(t.Context(), "alice", "sk-nope", base); !errors.Is(err, live.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	at := base.Add(time.Minute)
	for i := range 2 { // the second time keeps the first
		if err := s.RevokeStreamKey(t.Context(), "alice", k.ID, at.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.StreamKeyByHash(t.Context(), live.HashKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	k.RevokedAt = at
	same(t, got, k)
}
