package chat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/storage/postgres"
	"github.com/salamhq/salam/storage/sqlite"
	"github.com/salamhq/salam/wire"
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
// NATS connection and store handle, in one queue group) with concurrent
// publishes and reports msgs/s and ack latency percentiles.
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
	const channels, inFlight = 16, 256
	run := time.Now().UnixNano()
	for i := 0; i < channels; i++ {
		ch := chat.Channel{ID: fmt.Sprintf("b%d-%d", run, i), Kind: chat.KindGroup, Name: "bench", MemberCap: 256, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if _, err := stores[0].CreateChannel(context.Background(), ch, "alice"); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	lat := make([][]time.Duration, inFlight)
	body := make([]byte, 200)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				ch := fmt.Sprintf("b%d-%d", run, i%channels)
				f := wire.Frame{Type: wire.TypePublish, Channel: ch, MsgID: fmt.Sprintf("m%d", i), Data: body}
				req := bus.Request{User: "alice", Frame: wire.Msgpack.Append(nil, &f)}
				start := time.Now()
				m, err := client.Request(bus.PublishSubject(ch), req.AppendMsgpack(nil), 10*time.Second)
				if err != nil {
					b.Error(err)
					return
				}
				var ack wire.Frame
				if wire.Msgpack.Decode(m.Data, &ack) != nil || ack.Type != wire.TypeAck {
					b.Errorf("reply %+v", ack)
					return
				}
				lat[w] = append(lat[w], time.Since(start))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
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
