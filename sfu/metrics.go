package sfu

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of one node. The forwarding loops add their packet counts once a
// second, not per packet.
type metrics struct {
	rooms, participants, tracks prometheus.Gauge
	relays                      prometheus.Gauge // links of spread rooms to other nodes (relay.go)
	received, forwarded         prometheus.Counter
	lost                        prometheus.Counter
	jitter                      prometheus.Histogram
	keyframeRequests            prometheus.Counter
	layerSwitches               prometheus.Counter
	renegotiations              prometheus.Counter
	retransmits                 prometheus.Counter
	speakerChanges              prometheus.Counter

	// Per published layer (labels room, user, mid, layer), set once a
	// second by its forwarding loop and deleted when the track goes: one
	// series each per live layer.
	trackJitter  *prometheus.GaugeVec
	trackLost    *prometheus.GaugeVec
	trackPackets *prometheus.GaugeVec
	trackBitrate *prometheus.GaugeVec
}

var trackLabels = []string{"room", "user", "mid", "layer"}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rooms:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "salam_sfu_rooms", Help: "Rooms held by this SFU node."}),
		relays:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "salam_sfu_relays", Help: "Relay links of this node's rooms to other SFU nodes (cascading)."}),
		participants: prometheus.NewGauge(prometheus.GaugeOpts{Name: "salam_sfu_participants", Help: "Participants (peer connections) on this SFU node."}),
		tracks:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "salam_sfu_tracks", Help: "Published tracks being forwarded."}),
		received:     prometheus.NewCounter(prometheus.CounterOpts{Name: "salam_sfu_rtp_received_total", Help: "RTP packets received from publishers."}),
		forwarded:    prometheus.NewCounter(prometheus.CounterOpts{Name: "salam_sfu_rtp_forwarded_total", Help: "RTP packets written to subscribers."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "salam_sfu_rtp_lost_total",
			Help: "RTP packets missing from publishers' streams (sequence gaps, before retransmission)."}),
		jitter: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "salam_sfu_jitter_seconds",
			Help:    "Interarrival jitter of published streams (RFC 3550), sampled once a second per stream.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .04, .08, .16, .32}}),
		keyframeRequests: prometheus.NewCounter(prometheus.CounterOpts{Name: "salam_sfu_keyframe_requests_total", Help: "PLIs sent to publishers."}),
		layerSwitches:    prometheus.NewCounter(prometheus.CounterOpts{Name: "salam_sfu_layer_switches_total", Help: "Down-tracks that started or switched layer."}),
		renegotiations:   prometheus.NewCounter(prometheus.CounterOpts{Name: "salam_sfu_renegotiations_total", Help: "Offers the SFU sent to participants."}),
		retransmits:      prometheus.NewCounter(prometheus.CounterOpts{Name: "salam_sfu_rtp_retransmitted_total", Help: "Packets resent to subscribers on their NACKs."}),
		speakerChanges:   prometheus.NewCounter(prometheus.CounterOpts{Name: "salam_sfu_speaker_changes_total", Help: "Active speaker announcements."}),
	}
	m.trackJitter = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "salam_sfu_track_jitter_seconds",
		Help: "Interarrival jitter of a published layer (RFC 3550)."}, trackLabels)
	m.trackLost = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "salam_sfu_track_lost_packets",
		Help: "Packets missing from a published layer so far (sequence gaps)."}, trackLabels)
	m.trackPackets = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "salam_sfu_track_packets",
		Help: "Packets received on a published layer so far."}, trackLabels)
	m.trackBitrate = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "salam_sfu_track_bitrate_bits",
		Help: "Bitrate of a published layer over the last second, bits/s."}, trackLabels)
	if reg != nil {
		reg.MustRegister(m.rooms, m.relays, m.participants, m.tracks, m.received, m.forwarded, m.lost, m.jitter,
			m.keyframeRequests, m.layerSwitches, m.renegotiations, m.retransmits, m.speakerChanges,
			m.trackJitter, m.trackLost, m.trackPackets, m.trackBitrate)
	}
	return m
}

// trackGauges are one layer's series.
type trackGauges struct {
	jitter, lost, packets, bitrate prometheus.Gauge
	labels                         []string
}

func (m *metrics) trackGauges(room, user, mid string, layer int) *trackGauges {
	labels := []string{room, user, mid, strconv.Itoa(layer)}
	return &trackGauges{jitter: m.trackJitter.WithLabelValues(labels...), lost: m.trackLost.WithLabelValues(labels...),
		packets: m.trackPackets.WithLabelValues(labels...), bitrate: m.trackBitrate.WithLabelValues(labels...),
		labels: labels}
}

func (m *metrics) deleteTrack(g *trackGauges) {
	m.trackJitter.DeleteLabelValues(g.labels...)
	m.trackLost.DeleteLabelValues(g.labels...)
	m.trackPackets.DeleteLabelValues(g.labels...)
	m.trackBitrate.DeleteLabelValues(g.labels...)
}
