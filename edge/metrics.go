package edge

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/wire"
)

// metrics of one edge, namespace salam_edge_*. Counters on the per-frame
// path are resolved once so that counting allocates nothing.
type metrics struct {
	connections       prometheus.Gauge
	channels          prometheus.Gauge
	upgrades          *prometheus.CounterVec
	framesIn          [wire.MaxType + 2]prometheus.Counter // by type; the last counts unknown types
	framesInvalid     prometheus.Counter
	framesOut         [wire.MaxType + 1]prometheus.Counter
	messagesIn        prometheus.Counter
	bytesIn, bytesOut prometheus.Counter
	closes            *prometheus.CounterVec
	slowConsumers     prometheus.Counter
	rateLimited       prometheus.Counter
	protocolErrors    prometheus.Counter
	handshakeTimeouts prometheus.Counter
	heartbeatTimeouts prometheus.Counter
	requestTimeouts   prometheus.Counter
	eventsOut         prometheus.Counter
	reorderGiveUps    prometheus.Counter
	requestLatency    prometheus.Histogram
	deliveryLag       prometheus.Histogram
	signalRelay       prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "salam", Subsystem: "edge", Name: name, Help: help}
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts(f(name, help)))
	}
	buckets := prometheus.ExponentialBuckets(0.0001, 2, 16) // 100µs … 3.3s
	m := &metrics{
		connections:       prometheus.NewGauge(prometheus.GaugeOpts(f("connections", "Open WebSocket connections."))),
		channels:          prometheus.NewGauge(prometheus.GaugeOpts(f("local_channels", "Channels with local subscribers (one bus subscription each)."))),
		upgrades:          prometheus.NewCounterVec(prometheus.CounterOpts(f("upgrades_total", "WebSocket upgrade attempts by result.")), []string{"result"}),
		messagesIn:        counter("messages_in_total", "Complete WebSocket data messages received."),
		bytesIn:           counter("bytes_in_total", "Bytes read from client sockets."),
		bytesOut:          counter("bytes_out_total", "Bytes written to client sockets."),
		closes:            prometheus.NewCounterVec(prometheus.CounterOpts(f("closes_total", "Closed WebSocket connections by close code (0 = peer went away).")), []string{"code"}),
		slowConsumers:     counter("slow_consumer_closes_total", "Connections closed because their outbound queue overflowed or a write timed out."),
		rateLimited:       counter("rate_limited_total", "Frames or publishes refused by a rate limit."),
		protocolErrors:    counter("protocol_errors_total", "Connections closed for an RFC 6455 violation or an oversized frame."),
		handshakeTimeouts: counter("handshake_timeouts_total", "Connections closed before completing their HTTP request."),
		heartbeatTimeouts: counter("heartbeat_timeouts_total", "Connections closed after the heartbeat timeout."),
		requestTimeouts:   counter("request_timeouts_total", "Client requests core did not answer in time."),
		eventsOut:         counter("events_delivered_total", "Event frames written to local subscribers."),
		reorderGiveUps:    counter("reorder_gaps_total", "Times a channel's held message events went out with a gap: the missing one did not arrive within reorder_wait."),
		requestLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "salam", Subsystem: "edge",
			Name: "request_seconds", Help: "Client request (publish, history, receipt) received → core's reply.", Buckets: buckets}),
		deliveryLag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "salam", Subsystem: "edge",
			Name: "delivery_lag_seconds", Help: "Core accepted an event → written to every local subscriber.", Buckets: buckets}),
		// Fine buckets: a relay takes tens to hundreds of microseconds.
		signalRelay: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "salam", Subsystem: "edge",
			Name: "signal_relay_seconds", Help: "A call signaling frame received by the sender's edge → written to the target's connection (edges' clocks).",
			Buckets: []float64{25e-6, 50e-6, 75e-6, 100e-6, 150e-6, 200e-6, 300e-6, 400e-6, 500e-6, 750e-6,
				1e-3, 1.5e-3, 2e-3, 3e-3, 5e-3, 7.5e-3, 10e-3, 15e-3, 20e-3, 30e-3, 50e-3, 75e-3, 0.1, 0.2, 0.5, 1}}),
	}
	framesIn := prometheus.NewCounterVec(prometheus.CounterOpts(f("frames_in_total", "Client envelopes by frame type (invalid: undecodable).")), []string{"type"})
	for t := range m.framesIn {
		m.framesIn[t] = framesIn.WithLabelValues(wire.Type(t).String()) // the last index is "unknown"
	}
	m.framesInvalid = framesIn.WithLabelValues("invalid")
	framesOut := prometheus.NewCounterVec(prometheus.CounterOpts(f("frames_out_total", "Envelopes sent to clients by frame type.")), []string{"type"})
	for t := range m.framesOut {
		m.framesOut[t] = framesOut.WithLabelValues(wire.Type(t).String())
	}
	reg.MustRegister(m.connections, m.channels, m.upgrades, framesIn, framesOut, m.messagesIn, m.bytesIn,
		m.bytesOut, m.closes, m.slowConsumers, m.rateLimited, m.protocolErrors, m.handshakeTimeouts,
		m.heartbeatTimeouts, m.requestTimeouts, m.eventsOut, m.reorderGiveUps, m.requestLatency, m.deliveryLag, m.signalRelay)
	return m
}

func (m *metrics) upgrade(result string) { m.upgrades.WithLabelValues(result).Inc() }

func (m *metrics) frameIn(t wire.Type) {
	if !t.Known() {
		t = wire.MaxType + 1
	}
	m.framesIn[t].Inc()
}
func (m *metrics) closed(code uint16) { m.closes.WithLabelValues(strconv.Itoa(int(code))).Inc() }

func (m *metrics) frameOut(t wire.Type) {
	if int(t) < len(m.framesOut) {
		m.framesOut[t].Inc()
	}
}

func putBuffer(b *bytebufferpool.ByteBuffer) { bytebufferpool.Put(b) }
