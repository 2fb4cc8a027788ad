package loadgen

import (
	"context"
	"sync"
	"time"
)

// pace calls fn(k) for k = 0, 1, … n-1 (n < 0: until ctx ends), call k at
// start + k/rate. It returns ctx's error when ctx ends first.
func pace(ctx context.Context, start time.Time, rate float64, n int, fn func(k int)) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for k := 0; n < 0 || k < n; k++ {
		due := start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fn(k)
	}
	return nil
}

// sleep waits d or until ctx ends (then its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// every calls f every period on a goroutine of its own until the returned
// function is called; that function waits for a call under way and is
// safe to call more than once.
func every(period time.Duration, f func(now time.Time)) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				f(now)
			case <-quit:
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}
