package edge

import (
	"context"
	"sync"
	"time"

	"github.com/salamhq/salam/internal/bucket"
)

// Limiter is a rate limit by key shared by every edge that uses it
// (storage/redis implements it). Allow takes one token of key's bucket.
type Limiter interface {
	Allow(ctx context.Context, key string, rate float64, burst int, now time.Time) (bool, error)
}

// limits applies the per-user publish and per-address upgrade limits: with
// the shared limiter when one is configured, else (and whenever the shared
// one fails: Redis down) with this edge's own buckets, so a limit is never
// lifted, only narrowed to one edge.
type limits struct {
	shared Limiter

	mu      sync.Mutex
	local   map[string]*bucket.Bucket
	resetAt time.Time
}

// localReset bounds the memory of local buckets: they start over this
// often, which at worst grants each key one extra burst.
const localReset = 5 * time.Minute

func (l *limits) allow(key string, rate float64, burst int) bool {
	now := time.Now()
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		ok, err := l.shared.Allow(ctx, key, rate, burst, now)
		cancel()
		if err == nil {
			return ok
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.local == nil || now.After(l.resetAt) {
		l.local, l.resetAt = make(map[string]*bucket.Bucket), now.Add(localReset)
	}
	b := l.local[key]
	if b == nil {
		b = new(bucket.Bucket)
		l.local[key] = b
	}
	return b.Allow(now.UnixNano(), rate, burst)
}
