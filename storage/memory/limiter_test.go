package memory

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestLimiterSweep checks that buckets which have refilled are forgotten,
// so memory follows the active keys.
func TestLimiterSweep(t *testing.T) {
	l := NewLimiter()
	ctx, now := context.Background(), time.Unix(1_900_000_000, 0)
	for i := range 5000 {
		if ok, err := l.Allow(ctx, fmt.Sprint("ip-", i), 10, 5, now); err != nil || !ok {
			t.Fatalf("Allow: %v, %v", ok, err)
		}
	}
	// 1 s later every bucket (5 tokens at 10/s) is full again. The map
	// doubles between sweeps (1024, 2048, 4096, 8192 keys), so 5000 new
	// keys cross the next threshold, and that sweep drops every old key.
	later := now.Add(time.Second)
	for i := range 5000 {
		l.Allow(ctx, fmt.Sprint("new-", i), 10, 5, later)
	}
	if n := len(l.buckets); n != 5000 {
		t.Errorf("%d buckets kept, want the 5000 active ones", n)
	}
}
