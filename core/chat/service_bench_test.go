package chat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/core/chat/chatbench"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/storage/postgres"
	"github.com/salamhq/salam/storage/sqlite"
)

// BenchmarkSendSQLite measures acknowledged messages per second through the
// whole core path (bus request → access check → batched commit → event →
// ack) on the embedded store, with 256 sends in flight over 16 channels.
func BenchmarkSendSQLite(b *testing.B) {
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	BenchSend(b, []chat.Store{store})
}

// BenchSend drives len(stores) chat services (each its own core: its own
// NATS connection and store handle, in one queue group) with
// chatbench.Drive.
func BenchSend(b *testing.B, stores []chat.Store) {
	ns, client := bustest.Start(b)
	for _, store := range stores {
		nc, err := bus.Connect(bus.Config{}, ns, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		svc, err := chat.NewService(nc, store, benchConfig, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Start(); err != nil {
			b.Fatal(err)
		}
		defer svc.Stop(context.Background())
	}
	const channels = 16
	run := time.Now().UnixNano()
	var ids []string
	for i := 0; i < channels; i++ {
		ch := chat.Channel{ID: fmt.Sprintf("b%d-%d", run, i), Kind: chat.KindGroup, Name: "bench", MemberCap: 256, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if _, err := stores[0].CreateChannel(context.Background(), ch, "alice"); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, ch.ID)
	}
	chatbench.Drive(b, client, "alice", ids)
}

// BenchmarkSendPostgresTwoCores is the production shape: two chat services
// (two core processes' worth of connections and pools) on one Postgres.
// Needs SALAM_TEST_POSTGRES (.ci/services).
func BenchmarkSendPostgresTwoCores(b *testing.B) {
	url := os.Getenv("SALAM_TEST_POSTGRES")
	if url == "" {
		b.Skip("SALAM_TEST_POSTGRES not set")
	}
	schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	var stores []chat.Store
	for i := 0; i < 2; i++ {
		s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	BenchSend(b, stores)
}

var benchConfig = chat.Config{}
