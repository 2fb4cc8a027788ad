package observe

import (
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/salamhq/salam/internal/bus"
)

// NATSClientCollectors returns the health of this process's NATS
// connection as salam_nats_client_* metrics: connected, reconnects, the
// messages and bytes it moved, and the round-trip time to its server
// (measured at each scrape, bounded by one second).
func NATSClientCollectors(nc *nats.Conn) []prometheus.Collector {
	opts := func(name, help string) prometheus.GaugeOpts {
		return prometheus.GaugeOpts{Namespace: "salam", Subsystem: "nats_client", Name: name, Help: help}
	}
	counter := func(name, help string, f func(nats.Statistics) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts(opts(name, help)), func() float64 { return float64(f(nc.Stats())) })
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(opts("connected", "1 while connected to a NATS server."), func() float64 {
			if nc.IsConnected() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(opts("rtt_seconds", "Round trip to the NATS server (PING/PONG), at scrape time; -1 when it failed."), func() float64 {
			rtt, err := rttWithin(nc, time.Second)
			if err != nil {
				return -1
			}
			return rtt.Seconds()
		}),
		counter("reconnects_total", "Reconnections to NATS.", func(s nats.Statistics) uint64 { return s.Reconnects }),
		prometheus.NewCounterFunc(prometheus.CounterOpts(opts("slow_consumer_errors_total",
			"Times a subscription of this process fell behind and NATS dropped messages for it (all connections).")),
			func() float64 { return float64(bus.SlowConsumerErrors()) }),
		counter("in_msgs_total", "Messages received from NATS.", func(s nats.Statistics) uint64 { return s.InMsgs }),
		counter("out_msgs_total", "Messages published to NATS.", func(s nats.Statistics) uint64 { return s.OutMsgs }),
		counter("in_bytes_total", "Bytes received from NATS.", func(s nats.Statistics) uint64 { return s.InBytes }),
		counter("out_bytes_total", "Bytes published to NATS.", func(s nats.Statistics) uint64 { return s.OutBytes }),
	}
}

// rttWithin is nc.RTT with a bound.
func rttWithin(nc *nats.Conn, d time.Duration) (time.Duration, error) {
	if !nc.IsConnected() {
		return 0, nats.ErrConnectionClosed
	}
	start := time.Now()
	if err := nc.FlushTimeout(d); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// EmbeddedNATSCollectors returns the embedded NATS server's health as
// salam_nats_server_* metrics, read from its varz.
func EmbeddedNATSCollectors(ns *server.Server) []prometheus.Collector {
	opts := func(name, help string) prometheus.GaugeOpts {
		return prometheus.GaugeOpts{Namespace: "salam", Subsystem: "nats_server", Name: name, Help: help}
	}
	varz := func(f func(*server.Varz) float64) func() float64 {
		return func() float64 {
			v, err := ns.Varz(nil)
			if err != nil {
				return 0
			}
			return f(v)
		}
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(opts("connections", "Client connections to the embedded NATS server."),
			varz(func(v *server.Varz) float64 { return float64(v.Connections) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts(opts("slow_consumers_total", "Clients the embedded NATS server cut off as slow consumers.")),
			varz(func(v *server.Varz) float64 { return float64(v.SlowConsumers) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts(opts("in_msgs_total", "Messages the embedded NATS server received.")),
			varz(func(v *server.Varz) float64 { return float64(v.InMsgs) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts(opts("out_msgs_total", "Messages the embedded NATS server delivered.")),
			varz(func(v *server.Varz) float64 { return float64(v.OutMsgs) })),
		prometheus.NewGaugeFunc(opts("subscriptions", "Subscriptions on the embedded NATS server."),
			varz(func(v *server.Varz) float64 { return float64(v.Subscriptions) })),
	}
}

// Gauges returns one gauge per entry of read's result, each named
// salam_<subsystem>_<key>; read is called once per scrape for all of them
// (store pools, Redis). keys fixes the set and the help texts.
func Gauges(subsystem string, keys map[string]string, read func() map[string]float64) []prometheus.Collector {
	var cache struct {
		sync.Mutex
		at   time.Time
		vals map[string]float64
	}
	get := func(k string) float64 {
		cache.Lock()
		defer cache.Unlock()
		if time.Since(cache.at) > 100*time.Millisecond { // one read per scrape, not per gauge
			cache.vals, cache.at = read(), time.Now()
		}
		return cache.vals[k]
	}
	out := make([]prometheus.Collector, 0, len(keys))
	for k, help := range keys {
		out = append(out, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "salam", Subsystem: subsystem, Name: k, Help: help},
			func() float64 { return get(k) }))
	}
	return out
}
