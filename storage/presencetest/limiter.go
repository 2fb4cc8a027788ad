package presencetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Limiter is the rate limiter contract shared by storage/redis.Limiter and
// storage/memory.Limiter: Allow takes one request for key at time now and
// reports whether it fits rate (per second) with bursts of up to burst.
type Limiter interface {
	Allow(ctx context.Context, key string, rate float64, burst int, now time.Time) (bool, error)
}

// RunLimiter runs the limiter contract suite against the limiters open
// returns (fresh, with cleanup arranged through t.Cleanup).
func RunLimiter(t *testing.T, open func(t *testing.T) Limiter) {
	ctx := context.Background()
	allow := func(t *testing.T, l Limiter, key string, rate float64, burst int, d time.Duration) bool {
		t.Helper()
		ok, err := l.Allow(ctx, key, rate, burst, at(d))
		if err != nil {
			t.Fatalf("Allow(%s, %v, %d, %v): %v", key, rate, burst, d, err)
		}
		return ok
	}
	// expect runs calls at one instant and checks the admitted count.
	expect := func(t *testing.T, l Limiter, key string, rate float64, burst int, d time.Duration, calls, want int) {
		t.Helper()
		got := 0
		for range calls {
			if allow(t, l, key, rate, burst, d) {
				got++
			}
		}
		if got != want {
			t.Errorf("%s at %v: %d of %d calls admitted, want %d", key, d, got, calls, want)
		}
	}

	t.Run("BurstThenRefill", func(t *testing.T) {
		l := open(t)
		expect(t, l, "u", 1, 3, 0, 5, 3)                                // the burst, then refused
		expect(t, l, "u", 1, 3, 500*time.Millisecond, 1, 0)             // half a token
		expect(t, l, "u", 1, 3, time.Second, 2, 1)                      // one token per second
		expect(t, l, "u", 1, 3, 100*time.Second, 5, 3)                  // refills up to burst only
		expect(t, l, "slow", 0.5, 1, 0, 2, 1)                           // one every 2 s
		expect(t, l, "slow", 0.5, 1, time.Second, 1, 0)                 //
		expect(t, l, "slow", 0.5, 1, 2*time.Second, 1, 1)               //
		expect(t, l, "fast", 1000, 10, 0, 20, 10)                       // 1 ms per token
		expect(t, l, "fast", 1000, 10, 5*time.Millisecond, 20, 5)       //
		expect(t, l, "ip:192.0.2.1", 10, 1, 0, 1, 1)                    // keys are independent
		expect(t, l, "ip:192.0.2.2", 10, 1, 0, 1, 1)                    //
		expect(t, l, "ip:192.0.2.1", 10, 1, 99*time.Millisecond, 1, 0)  //
		expect(t, l, "ip:192.0.2.1", 10, 1, 100*time.Millisecond, 1, 1) //
		expect(t, l, "{braces}:ok", 1, 1, 0, 2, 1)                      // any key bytes
	})

	t.Run("SteadyRate", func(t *testing.T) {
		l := open(t)
		// 100 s at 10 calls per second against rate 2, burst 5: the
		// burst plus 2 per second.
		got := 0
		for i := range 1000 {
			if allow(t, l, "k", 2, 5, time.Duration(i)*100*time.Millisecond) {
				got++
			}
		}
		if want := 5 + 2*100; got < want-2 || got > want {
			t.Errorf("%d admitted over 100 s, want about %d", got, want)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		l := open(t)
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 25 {
					ok, err := l.Allow(ctx, "shared", 1, 50, at(0))
					if err != nil {
						t.Errorf("Allow: %v", err)
						return
					}
					if ok {
						admitted.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if n := admitted.Load(); n != 50 {
			t.Errorf("%d of 200 concurrent calls admitted, want exactly the burst of 50", n)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		l := open(t)
		for _, tc := range []struct {
			key   string
			rate  float64
			burst int
		}{{"", 1, 1}, {"k", 0, 1}, {"k", -1, 1}, {"k", 1, 0}} {
			if _, err := l.Allow(ctx, tc.key, tc.rate, tc.burst, at(0)); err == nil {
				t.Errorf("Allow(%q, %v, %d) accepted", tc.key, tc.rate, tc.burst)
			}
		}
	})
}
