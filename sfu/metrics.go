package sfu

import "github.com/prometheus/client_golang/prometheus"

// metrics of one node. The forwarding loops add their packet counts once a
// second, not per packet.
type metrics struct {
	rooms, participants, tracks prometheus.Gauge
	received, forwarded         prometheus.Counter
	lost                        prometheus.Counter
	jitter                      prometheus.Histogram
	keyframeRequests            prometheus.Counter
	layerSwitches               prometheus.Counter
	renegotiations              prometheus.Counter
	retransmits                 prometheus.Counter
	speakerChanges              prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rooms:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "salam_sfu_rooms", Help: "Rooms held by this SFU node."}),
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
	if reg != nil {
		reg.MustRegister(m.rooms, m.participants, m.tracks, m.received, m.forwarded, m.lost, m.jitter,
			m.keyframeRequests, m.layerSwitches, m.renegotiations, m.retransmits, m.speakerChanges)
	}
	return m
}
