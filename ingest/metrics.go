package ingest

import (
	"errors"
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// streamStats are one stream's ingest figures. The publisher goroutine
// writes them; the metrics collector and Stats read them (atomics).
type streamStats struct {
	bytes       atomic.Uint64
	videoFrames atomic.Uint64
	audioFrames atomic.Uint64
	keyframes   atomic.Uint64
	dropped     atomic.Uint64
	keyInterval atomic.Int64  // media time between the last two keyframes, ns
	fps         atomic.Uint64 // float64 bits, over the last full second
	bitrate     atomic.Uint64 // float64 bits, bits/s over the last full second
	listing     atomic.Int64  // the last listing latency (watchListing), ns

	// publisher goroutine only
	lastKeyPTS   time.Duration
	haveKey      bool
	windowStart  time.Time
	windowFrames uint64
	windowBytes  uint64
}

func (ss *streamStats) onVideo(now time.Time, pts time.Duration, idr, paramsOnly bool) {
	if paramsOnly {
		return // the sequence header, not a frame
	}
	ss.videoFrames.Add(1)
	if idr {
		ss.keyframes.Add(1)
		if ss.haveKey && pts > ss.lastKeyPTS {
			ss.keyInterval.Store(int64(pts - ss.lastKeyPTS))
		}
		ss.lastKeyPTS, ss.haveKey = pts, true
	}
	if ss.windowStart.IsZero() {
		ss.windowStart, ss.windowBytes = now, ss.bytes.Load()
	}
	ss.windowFrames++
	if d := now.Sub(ss.windowStart); d >= time.Second {
		b := ss.bytes.Load()
		ss.fps.Store(math.Float64bits(float64(ss.windowFrames) / d.Seconds()))
		ss.bitrate.Store(math.Float64bits(float64(b-ss.windowBytes) * 8 / d.Seconds()))
		ss.windowStart, ss.windowFrames, ss.windowBytes = now, 0, b
	}
}

// Stats is a snapshot of one live stream's ingest.
type Stats struct {
	Name             string
	Bytes            uint64
	VideoFrames      uint64
	AudioFrames      uint64
	Keyframes        uint64
	DroppedFrames    uint64
	KeyframeInterval time.Duration
	FPS              float64
	Bitrate          float64 // bits/s
	Viewers          int
	// ListingLatency is the last segment's (LL-HLS: part's) time from its
	// first frame's ingest to its listing in the playlist.
	ListingLatency time.Duration
}

// Stats returns the figures of stream name, and false when it is not live.
func (s *Server) Stats(name string) (Stats, bool) {
	st := s.lookup(name)
	if st == nil {
		return Stats{}, false
	}
	return st.snapshot(s.now()), true
}

func (st *stream) snapshot(now time.Time) Stats {
	ss := &st.stats
	return Stats{Name: st.info.Name, Bytes: ss.bytes.Load(), VideoFrames: ss.videoFrames.Load(),
		AudioFrames: ss.audioFrames.Load(), Keyframes: ss.keyframes.Load(), DroppedFrames: ss.dropped.Load(),
		KeyframeInterval: time.Duration(ss.keyInterval.Load()), FPS: math.Float64frombits(ss.fps.Load()),
		Bitrate: math.Float64frombits(ss.bitrate.Load()), Viewers: st.viewers.count(now),
		ListingLatency: time.Duration(ss.listing.Load())}
}

// metrics exports every live stream's Stats to Prometheus, labelled by
// stream name, plus refused publishes by reason.
type metrics struct {
	s       *Server
	refusal *prometheus.CounterVec
	descs   map[string]*prometheus.Desc
}

func newMetrics(s *Server) *metrics {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("salam_ingest_"+name, help, []string{"stream"}, nil)
	}
	return &metrics{s: s,
		refusal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "salam_ingest_refused_total",
			Help: "RTMP publishes refused, by reason (bad_key, key_check, bad_path, busy)"}, []string{"reason"}),
		descs: map[string]*prometheus.Desc{
			"bytes":    d("received_bytes_total", "RTMP bytes received from the publisher"),
			"video":    d("video_frames_total", "H.264 access units received"),
			"audio":    d("audio_frames_total", "AAC access units received"),
			"keys":     d("keyframes_total", "IDR access units received"),
			"dropped":  d("dropped_frames_total", "access units the HLS muxer could not take"),
			"interval": d("keyframe_interval_seconds", "media time between the last two keyframes"),
			"fps":      d("fps", "video frames per second over the last second"),
			"bitrate":  d("bitrate_bits_per_second", "ingest bitrate over the last second"),
			"viewers":  d("viewers", "distinct HLS viewers (address + user agent) in the last 30 s"),
		}}
}

func (m *metrics) refused(reason string) { m.refusal.WithLabelValues(reason).Inc() }

// Register adds the ingest metrics to reg.
func (s *Server) Register(reg prometheus.Registerer) error {
	if err := reg.Register(s.stats.refusal); err != nil {
		return err
	}
	if err := reg.Register(listingLatency); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return err
		}
	}
	return reg.Register(s.stats)
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.descs {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.s.mu.Lock()
	streams := make([]*stream, 0, len(m.s.streams))
	for _, st := range m.s.streams {
		streams = append(streams, st)
	}
	m.s.mu.Unlock()
	now := m.s.now()
	for _, st := range streams {
		x := st.snapshot(now)
		c := func(k string, v float64) {
			ch <- prometheus.MustNewConstMetric(m.descs[k], prometheus.CounterValue, v, x.Name)
		}
		g := func(k string, v float64) {
			ch <- prometheus.MustNewConstMetric(m.descs[k], prometheus.GaugeValue, v, x.Name)
		}
		c("bytes", float64(x.Bytes))
		c("video", float64(x.VideoFrames))
		c("audio", float64(x.AudioFrames))
		c("keys", float64(x.Keyframes))
		c("dropped", float64(x.DroppedFrames))
		g("interval", x.KeyframeInterval.Seconds())
		g("fps", x.FPS)
		g("bitrate", x.Bitrate)
		g("viewers", float64(x.Viewers))
	}
}
