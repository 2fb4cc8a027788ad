package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/core/live"
	"github.com/salamhq/salam/storage/callstest"
	"github.com/salamhq/salam/storage/chattest"
	"github.com/salamhq/salam/storage/livetest"
)

// testURL returns the database the tests use (SALAM_TEST_POSTGRES, set by
// `eval "$(.ci/services)"`). Without it the test is skipped, except on CI
// (CI=true), where a skip would hide that nothing ran.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("SALAM_TEST_POSTGRES")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SALAM_TEST_POSTGRES is unset on CI: run `eval \"$(.ci/services)\"` before go test")
		}
		t.Skip("SALAM_TEST_POSTGRES is unset; `eval \"$(.ci/services)\"` starts a local PostgreSQL")
	}
	return url
}

// testSchema returns the name of a schema that does not exist yet and
// drops it (with whatever Open put in it) when the test ends, after the
// stores the test opened are closed.
func testSchema(t testing.TB) string {
	t.Helper()
	url := testURL(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// openSchema opens a Store on schema and closes it when the test ends.
func openSchema(t testing.TB, schema string, maxConns int32) *Store {
	t.Helper()
	s, err := Open(context.Background(), testURL(t), Options{Schema: schema, MaxConns: maxConns})
	if err != nil {
		t.Fatalf("Open(schema %s): %v", schema, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openTest opens a Store on a fresh schema.
func openTest(t testing.TB) *Store {
	t.Helper()
	return openSchema(t, testSchema(t), 4)
}

// TestContract runs the shared contract suite, then checks that every
// statement the suite made the store send reads its tables through an
// index.
func TestContract(t *testing.T) {
	testURL(t)
	log := &queryLog{seen: map[string][]any{}}
	chattest.Run(t, func(t *testing.T) chat.Store { return openTraced(t, log) })
	callstest.Run(t, func(t *testing.T) calls.Store { return openTraced(t, log) })
	livetest.Run(t, func(t *testing.T) live.KeyStore { return openTraced(t, log) })
	t.Run("EveryQueryUsesAnIndex", func(t *testing.T) { checkPlans(t, log) })
}
