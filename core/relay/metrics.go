package relay

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/salamhq/salam/wire"
)

// resultOK is the code label of accepted publishes.
const resultOK = "ok"

type metrics struct {
	publishes *prometheus.CounterVec // by result code
	byCode    map[wire.Code]prometheus.Counter
	ok        prometheus.Counter
	duration  prometheus.Histogram
	channels  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		publishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "salam", Subsystem: "relay", Name: "publishes_total",
			Help: `Publish requests handled, by result: "ok" or the wire error code name.`,
		}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "salam", Subsystem: "relay", Name: "handle_duration_seconds",
			Help:    "Time to handle one publish request: decode, number, publish the event, reply.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 8), // 10µs … 164ms
		}),
		channels: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "salam", Subsystem: "relay", Name: "channels",
			Help: "Channels with a sequence in memory (published to since the process started).",
		}),
	}
	// Resolve the labels of every code handle can produce once, off the hot path.
	m.ok = m.publishes.WithLabelValues(resultOK)
	m.byCode = make(map[wire.Code]prometheus.Counter)
	for _, c := range []wire.Code{wire.CodeBadFrame, wire.CodeBadChannel, wire.CodeTooLarge, wire.CodeUnavailable} {
		m.byCode[c] = m.publishes.WithLabelValues(c.String())
	}
	if reg != nil {
		cs := []prometheus.Collector{m.publishes, m.duration, m.channels}
		for i, c := range cs {
			if err := reg.Register(c); err != nil {
				for _, done := range cs[:i] {
					reg.Unregister(done)
				}
				return nil, fmt.Errorf("relay: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) result(code wire.Code) prometheus.Counter {
	if code == 0 {
		return m.ok
	}
	if c, ok := m.byCode[code]; ok {
		return c
	}
	return m.publishes.WithLabelValues(code.String())
}
