package presencetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/salamhq/salam/core/presence"
)

// BenchBeat measures one edge's steady-state beat: n users, all already
// online, beaten again every 10 s of store time. One op is one Beat call.
// started, if not nil, is called once the users are online, just before
// the timed loop (to snapshot a backend's counters).
func BenchBeat(b *testing.B, s presence.Store, n int, started func()) {
	ctx := context.Background()
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("user-%06d", i)
	}
	now := t0
	if _, err := s.Beat(ctx, "edge-1", users, ttl, now); err != nil {
		b.Fatal(err)
	}
	if started != nil {
		started()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(10 * time.Second)
		came, err := s.Beat(ctx, "edge-1", users, ttl, now)
		if err != nil {
			b.Fatal(err)
		}
		if len(came) != 0 {
			b.Fatalf("%d users came online in a steady-state beat", len(came))
		}
	}
}
