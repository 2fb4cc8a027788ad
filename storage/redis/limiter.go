package redis

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/rueidis"
)

// Limiter is a rate limiter shared by every process on one Redis: per user,
// per IP address, or any other key. Each Allow is one EVALSHA of a GCRA
// script on the key <prefix>{rl:<key>}, which holds one number and lives
// only until its bucket would be full again, so idle keys cost nothing.
type Limiter struct {
	conn   *conn
	prefix string
}

// NewLimiter returns a Limiter over an existing client (for example
// Presence.Client()); it never closes the client. Only opt.Prefix is used.
func NewLimiter(c rueidis.Client, opt Options) (*Limiter, error) {
	opt = opt.EnsureDefaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	return &Limiter{conn: &conn{c: c}, prefix: opt.Prefix}, nil
}

// Allow takes one request for key at time now and reports whether it fits
// rate (requests per second, > 0 and finite) with bursts of up to burst
// (≥ 1) requests: a full bucket admits burst requests at once, then one
// every 1/rate seconds. A refused request takes nothing. The decision and
// the update are one atomic script, so concurrent callers on many edges
// never admit more than the limit. Time has microsecond precision; callers
// pass now from roughly synchronised clocks (a caller behind the others
// sees a fuller bucket by its lag at most). Concurrent calls are
// auto-pipelined.
func (l *Limiter) Allow(ctx context.Context, key string, rate float64, burst int, now time.Time) (bool, error) {
	if key == "" || !(rate > 0) || math.IsInf(rate, 0) || burst < 1 {
		return false, fmt.Errorf("%w: key %q, rate %v, burst %d", ErrInvalidLimit, key, rate, burst)
	}
	emission := 1e6 / rate
	nowS := strconv.FormatInt(now.UnixMicro(), 10)
	t := strconv.FormatFloat(emission, 'f', -1, 64)
	tol := strconv.FormatFloat(emission*float64(burst), 'f', -1, 64)
	k := l.prefix + "{rl:" + key + "}"
	r := l.conn.do(ctx, func() rueidis.Completed {
		return scripts.allow.cmd(l.conn.c, []string{k}, nowS, t, tol)
	})
	n, err := r.AsInt64()
	if err != nil {
		return false, fmt.Errorf("redis: allow: %w", err)
	}
	return n == 1, nil
}
