package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/redis/rueidis"
)

// testAddr returns SALAM_TEST_REDIS, skipping the test when it is unset
// (failing it on CI, where .ci/services always sets it).
func testAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("SALAM_TEST_REDIS")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SALAM_TEST_REDIS is unset on CI: run eval \"$(.ci/services)\" first")
		}
		t.Skip("SALAM_TEST_REDIS unset; run eval \"$(.ci/services)\" to test against Redis")
	}
	return addr
}

// testClient connects to the test Redis; the client is closed at cleanup.
func testClient(t testing.TB) rueidis.Client {
	t.Helper()
	addr := testAddr(t)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: strings.Split(addr, ","), DisableCache: true})
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

// testPrefix returns a random key prefix and deletes its keys at cleanup,
// so tests sharing one Redis never see each other's keys. Register it after
// testClient, so that cleanup runs before the client closes.
func testPrefix(t testing.TB, c rueidis.Client) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := "salamtest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		if err := deleteKeys(context.Background(), c, prefix); err != nil {
			t.Errorf("cleanup of %s*: %v", prefix, err)
		}
	})
	return prefix
}

// deleteKeys removes every key starting with prefix, on every node.
func deleteKeys(ctx context.Context, c rueidis.Client, prefix string) error {
	for _, node := range c.Nodes() {
		var cursor uint64
		for {
			e, err := node.Do(ctx, node.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				return err
			}
			// One UNLINK per key: keys of several slots in one command
			// are refused by a Cluster.
			cmds := make(rueidis.Commands, len(e.Elements))
			for i, k := range e.Elements {
				cmds[i] = node.B().Unlink().Key(k).Build()
			}
			for _, r := range node.DoMulti(ctx, cmds...) {
				if err := r.Error(); err != nil {
					return err
				}
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
	}
	return nil
}
