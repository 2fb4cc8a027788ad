package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/salamhq/salam/storage/presencetest"
)

// BenchmarkBeat reports, besides time and allocations, what one Beat costs
// Redis: commands sent (cmds/op), pipelines (trips/op, each one network
// round trip), EVALSHA calls and CPU time the server counted
// (server-evalsha/op, server-µs/op, from INFO commandstats; the time counts
// commands run inside scripts twice, so it is an upper bound), and the
// memory each online user takes (B/user).
func BenchmarkBeat(b *testing.B) {
	for _, n := range []int{1000, 15000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) { benchBeat(b, n) })
	}
}

func benchBeat(b *testing.B, n int) {
	p := openPresence(b, Options{})
	c := p.Client()
	mem0 := infoField(b, c, "memory", "used_memory")
	var evalsha0, usec0, sent0, trips0 float64
	presencetest.BenchBeat(b, p, n, func() {
		evalsha0, usec0 = commandStats(b, c)
		sent0, trips0 = float64(p.conn.sent.Load()), float64(p.conn.trips.Load())
	})
	b.StopTimer()
	ops := float64(b.N)
	b.ReportMetric((float64(p.conn.sent.Load())-sent0)/ops, "cmds/op")
	b.ReportMetric((float64(p.conn.trips.Load())-trips0)/ops, "trips/op")
	evalsha, usec := commandStats(b, c)
	b.ReportMetric((evalsha-evalsha0)/ops, "server-evalsha/op")
	b.ReportMetric((usec-usec0)/ops, "server-µs/op")
	b.ReportMetric((infoField(b, c, "memory", "used_memory")-mem0)/float64(n), "B/user")
}

// infoField reads a numeric field of INFO section (summed over nodes).
func infoField(b *testing.B, c rueidis.Client, section, field string) float64 {
	var sum float64
	for _, node := range c.Nodes() {
		s, err := node.Do(context.Background(), node.B().Info().Section(section).Build()).ToString()
		if err != nil {
			b.Fatal(err)
		}
		for line := range strings.Lines(s) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
				f, _ := strconv.ParseFloat(v, 64)
				sum += f
			}
		}
	}
	return sum
}

// commandStats sums, over nodes, EVALSHA calls and the usec of every
// command in INFO commandstats.
func commandStats(b *testing.B, c rueidis.Client) (evalsha, usec float64) {
	for _, node := range c.Nodes() {
		s, err := node.Do(context.Background(), node.B().Info().Section("commandstats").Build()).ToString()
		if err != nil {
			b.Fatal(err)
		}
		for line := range strings.Lines(s) {
			name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
			if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
				continue
			}
			for kv := range strings.SplitSeq(stats, ",") {
				k, v, _ := strings.Cut(kv, "=")
				f, _ := strconv.ParseFloat(v, 64)
				switch {
				case k == "calls" && name == "cmdstat_evalsha":
					evalsha += f
				case k == "usec":
					usec += f
				}
			}
		}
	}
	return evalsha, usec
}
