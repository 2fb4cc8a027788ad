package main

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/storage/redis"
)

// kind names the process's node in the console: edge, core, or edge+core.
func (r roles) kind() string {
	var parts []string
	for _, p := range []struct {
		on   bool
		name string
	}{{r.edge, "edge"}, {r.core, "core"}, {r.sfu, "sfu"}, {r.ingest, "ingest"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	return strings.Join(parts, "+")
}

// registerStoreHealth exposes the chat store's pool as salam_store_*
// gauges, on /metrics and so in the console.
func registerStoreHealth(reg prometheus.Registerer, s store) {
	p, ok := s.(interface{ PoolStats() map[string]float64 })
	if !ok {
		return
	}
	keys := make(map[string]string)
	for k := range p.PoolStats() {
		keys[k] = "Chat store connection pool: " + k + "."
	}
	reg.MustRegister(observe.Gauges("store", keys, p.PoolStats)...)
}

// registerRedisHealth exposes Redis reachability (salam_redis_up) and a
// PING's round trip (salam_redis_ping_seconds) when presence uses Redis.
func registerRedisHealth(reg prometheus.Registerer, ps presence.Store) {
	r, ok := ps.(*redis.Presence)
	if !ok {
		return
	}
	read := func() map[string]float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		c := r.Client()
		if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
			return map[string]float64{"up": 0, "ping_seconds": -1}
		}
		return map[string]float64{"up": 1, "ping_seconds": time.Since(start).Seconds()}
	}
	reg.MustRegister(observe.Gauges("redis", map[string]string{
		"up":           "1 when Redis answered the last PING.",
		"ping_seconds": "Round trip of a PING to Redis; -1 when it failed.",
	}, read)...)
}
