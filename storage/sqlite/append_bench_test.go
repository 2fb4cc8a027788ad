package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
)

func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) { benchAppend(b, Options{}, n) })
	}
}

// BenchmarkAppendFull is BenchmarkAppend with an fsync per commit.
func BenchmarkAppendFull(b *testing.B) {
	for _, n := range []int{1, 128} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) { benchAppend(b, Options{Synchronous: "FULL"}, n) })
	}
}

// benchAppend appends b.N batches of n new 500-byte messages (the product
// spec's average) to one channel.
func benchAppend(b *testing.B, opt Options, n int) {
	s := openTemp(b, opt)
	ctx := context.Background()
	if _, err := s.CreateChannel(ctx, chat.Channel{ID: "g", Kind: chat.KindGroup, CreatedBy: "o", CreatedAt: time.Now()}, "o"); err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 500)
	batch := make([]chat.NewMessage, n)
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for ; b.Loop(); i++ {
		for j := range batch {
			batch[j] = chat.NewMessage{Channel: "g", Sender: "u" + strconv.Itoa(j%8), ClientID: strconv.Itoa(i*n + j),
				ContentType: "text/plain", Body: body, CreatedAt: now}
		}
		res, err := s.Append(ctx, batch)
		if err != nil || res[0].Err != nil || res[0].Duplicate {
			b.Fatalf("Append: %v %+v", err, res[0])
		}
	}
	b.ReportMetric(float64(i*n)/b.Elapsed().Seconds(), "msgs/s")
}
