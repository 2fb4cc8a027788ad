// Package bucket is a token bucket small enough to embed in every connection:
// 16 bytes, no lock, no allocation. Callers that share one serialize access.
package bucket

// Bucket holds tokens refilled at a rate per second up to a burst.
// The zero value is a full bucket on first use.
type Bucket struct {
	tokens float64
	last   int64 // unix nanos of the last refill; 0 = never used
}

// Allow takes one token at time now (unix nanos) and reports whether one was there.
func (b *Bucket) Allow(now int64, rate float64, burst int) bool {
	if b.last == 0 {
		b.tokens = float64(burst)
	} else if elapsed := now - b.last; elapsed > 0 {
		b.tokens += float64(elapsed) * rate / 1e9
		if b.tokens > float64(burst) {
			b.tokens = float64(burst)
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Tokens reports the tokens the bucket would hold at time now, without
// taking one (for inspection).
func (b *Bucket) Tokens(now int64, rate float64, burst int) float64 {
	if b.last == 0 {
		return float64(burst)
	}
	t := b.tokens
	if elapsed := now - b.last; elapsed > 0 {
		t += float64(elapsed) * rate / 1e9
	}
	return min(t, float64(burst))
}
