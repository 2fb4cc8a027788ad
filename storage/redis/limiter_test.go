package redis

import (
	"context"
	"testing"
	"time"
)

// TestLimiterKeyTTL: a key lives exactly until its bucket is full again.
func TestLimiterKeyTTL(t *testing.T) {
	c := testClient(t)
	l, err := NewLimiter(c, Options{Prefix: testPrefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 4 {
		if ok, err := l.Allow(ctx, "user:42", 2, 10, t0); err != nil || !ok {
			t.Fatalf("Allow = %v, %v", ok, err)
		}
	}
	// Four tokens taken at 2 per second: full again in 2 s.
	ms, err := c.Do(ctx, c.B().Pttl().Key(l.prefix+"{rl:user:42}").Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Duration(ms) * time.Millisecond; d <= 1900*time.Millisecond || d > 2*time.Second {
		t.Errorf("key TTL %v, want 2s", d)
	}
}
