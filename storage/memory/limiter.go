package memory

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/salamhq/salam/internal/bucket"
)

// Limiter is a rate limiter keyed by string (a user id, an IP address), in
// one process's memory: the embedded twin of storage/redis.Limiter, with the
// same answers for the same calls (a token bucket and GCRA admit the same
// requests). Keys whose bucket has refilled are dropped by a sweep that runs
// when the map has doubled since the last one, so memory follows the keys
// active within their refill time.
type Limiter struct {
	mu        sync.Mutex // guards everything below
	buckets   map[string]*limited
	nextSweep int // sweep when len(buckets) reaches this
}

type limited struct {
	b      bucket.Bucket
	fullAt int64 // Unix ns when the bucket is full again
}

// NewLimiter returns an empty limiter.
func NewLimiter() *Limiter {
	return &Limiter{buckets: make(map[string]*limited), nextSweep: 1024}
}

// Allow takes one request for key at time now and reports whether it is
// within rate (requests per second, > 0) with bursts of up to burst (≥ 1)
// requests. Refused requests take nothing. Safe for concurrent use.
func (l *Limiter) Allow(_ context.Context, key string, rate float64, burst int, now time.Time) (bool, error) {
	if err := checkLimit(key, rate, burst); err != nil {
		return false, err
	}
	ns := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.buckets[key]
	if e == nil {
		if len(l.buckets) >= l.nextSweep {
			l.sweep(ns)
		}
		e = new(limited)
		l.buckets[key] = e
	}
	ok := e.b.Allow(ns, rate, burst)
	e.fullAt = ns + int64(math.Ceil(float64(burst)/rate*1e9))
	return ok, nil
}

// sweep drops buckets that are full again by now. l.mu must be held.
func (l *Limiter) sweep(now int64) {
	for k, e := range l.buckets {
		if e.fullAt <= now {
			delete(l.buckets, k)
		}
	}
	l.nextSweep = max(1024, 2*len(l.buckets))
}

func checkLimit(key string, rate float64, burst int) error {
	if key == "" || rate <= 0 || math.IsInf(rate, 0) || math.IsNaN(rate) || burst < 1 {
		return fmt.Errorf("%w: key %q, rate %v, burst %d", ErrInvalidLimit, key, rate, burst)
	}
	return nil
}
