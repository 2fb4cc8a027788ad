package postgres

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
)

// benchChannels is how many channels a benchmark batch spreads over, round
// robin: a core process batches whatever arrived, from many channels.
const benchChannels = 16

func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 100, 500} {
		b.Run("batch="+strconv.Itoa(n), func(b *testing.B) { benchAppend(b, n, min(n, benchChannels)) })
	}
	b.Run("batch=500/channels=1", func(b *testing.B) { benchAppend(b, 500, 1) })
}

// BenchmarkAppendParallel writes from two Stores (two core processes, each
// with its own pool) into the same channels, several batches in flight.
func BenchmarkAppendParallel(b *testing.B) {
	for _, n := range []int{100, 500} {
		b.Run("batch="+strconv.Itoa(n), func(b *testing.B) { benchAppendParallel(b, n, benchChannels) })
	}
	b.Run("batch=100/channels=1", func(b *testing.B) { benchAppendParallel(b, 100, 1) })
}

// benchSetup opens stores on one fresh schema with the given channels.
func benchSetup(b *testing.B, stores, channels int) []*Store {
	b.Helper()
	schema := testSchema(b)
	out := make([]*Store, stores)
	for i := range out {
		out[i] = openSchema(b, schema, DefaultMaxConns)
	}
	for c := range channels {
		_, err := out[0].CreateChannel(b.Context(), chat.Channel{ID: benchChannel(c), Kind: chat.KindGroup}, "o")
		if err != nil {
			b.Fatal(err)
		}
	}
	return out
}

func benchChannel(c int) string { return fmt.Sprintf("bench-%03d", c) }

// benchChannelIDs and benchSenders are precomputed so that building a batch
// allocates as little as a core process would.
var (
	benchChannelIDs [benchChannels]string
	benchSenders    [1000]string
)

func init() {
	for i := range benchChannelIDs {
		benchChannelIDs[i] = benchChannel(i)
	}
	for i := range benchSenders {
		benchSenders[i] = "sender-" + strconv.Itoa(i)
	}
}

// benchBody is a message of the product spec's average size.
var benchBody = make([]byte, 500)

// benchBatch fills batch with new messages over channels, with client ids
// from next.
func benchBatch(batch []chat.NewMessage, channels int, next *atomic.Uint64) {
	at := time.Now()
	for i := range batch {
		id := next.Add(1)
		batch[i] = chat.NewMessage{
			Channel: benchChannelIDs[int(id)%channels], Sender: benchSenders[id%1000],
			ClientID: strconv.FormatUint(id, 36), ContentType: "text/plain", Body: benchBody, CreatedAt: at,
		}
	}
}

func benchAppend(b *testing.B, n, channels int) {
	s := benchSetup(b, 1, channels)[0]
	var next atomic.Uint64
	batch := make([]chat.NewMessage, n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		benchBatch(batch, channels, &next)
		if _, err := s.Append(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
}

func benchAppendParallel(b *testing.B, n, channels int) {
	stores := benchSetup(b, 2, channels)
	var next, worker atomic.Uint64
	b.SetParallelism(2) // 2×GOMAXPROCS batches in flight over both stores
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		s := stores[worker.Add(1)%2]
		batch := make([]chat.NewMessage, n)
		for pb.Next() {
			benchBatch(batch, channels, &next)
			if _, err := s.Append(b.Context(), batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "msgs/s")
}
