package console

import (
	"encoding/json"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/observe"
)

// overview aggregates the Snapshots nodes publish while the console
// watches. Its mu guards nodes and series; the NATS subscription's
// goroutine writes, HTTP handlers read.
type overview struct {
	cfg Config

	mu     sync.Mutex
	nodes  map[string]*nodeState
	series []point // aggregated over nodes, one per second, oldest first
}

// nodeState is what the console knows of one node.
type nodeState struct {
	last, prev observe.Snapshot
	seen       time.Time
	lagWindow  []observe.Histogram // delivery lag observed in each of the last seconds
	derived    NodeView
}

// NodeView is one node as the page shows it.
type NodeView struct {
	Node        string             `json:"node"`
	Kind        string             `json:"kind"`
	Seen        int64              `json:"seen"` // last report, Unix ms
	Uptime      float64            `json:"uptime_s"`
	Connections float64            `json:"connections"`
	UpgradesS   float64            `json:"upgrades_per_s"`
	FramesInS   float64            `json:"frames_in_per_s"`
	FramesOutS  float64            `json:"frames_out_per_s"`
	LatP50      float64            `json:"latency_p50_ms"` // publish → delivered, last 10 s; -1 without data
	LatP99      float64            `json:"latency_p99_ms"`
	SlowCloses  float64            `json:"slow_consumer_closes"`
	Health      map[string]float64 `json:"health"` // NATS, store, Redis gauges this node reports
}

// point is one second of the aggregate charts.
type point struct {
	T           int64   `json:"t"`
	Connections float64 `json:"connections"`
	UpgradesS   float64 `json:"upgrades_per_s"`
	FramesInS   float64 `json:"frames_in_per_s"`
	FramesOutS  float64 `json:"frames_out_per_s"`
	LatP50      float64 `json:"latency_p50_ms"`
	LatP99      float64 `json:"latency_p99_ms"`
}

// Overview is what the stream sends each second.
type Overview struct {
	Time   int64      `json:"time"`
	Nodes  []NodeView `json:"nodes"`
	Totals point      `json:"totals"`
	Series []point    `json:"series"`
}

const lagWindow = 10 // seconds of latency the quantiles cover

func newOverview(cfg Config) *overview {
	return &overview{cfg: cfg, nodes: make(map[string]*nodeState)}
}

// onStats takes one node's snapshot.
func (o *overview) onStats(m *nats.Msg) {
	var s observe.Snapshot
	if err := json.Unmarshal(m.Data, &s); err != nil || s.Node == "" || len(s.Node) > 128 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.nodes[s.Node]
	if n == nil {
		n = &nodeState{}
		o.nodes[s.Node] = n
	}
	n.prev, n.last, n.seen = n.last, s, time.Now()
	n.derive()
}

// derive computes the node's view from its last two snapshots.
func (n *nodeState) derive() {
	s, p := &n.last, &n.prev
	dt := float64(s.Time-p.Time) / 1000
	rate := func(name string) float64 {
		if p.Time == 0 || dt <= 0 {
			return 0
		}
		return math.Max(0, (s.Values[name]-p.Values[name])/dt)
	}
	const lag = "salam_edge_delivery_lag_seconds"
	if h, ok := s.Histograms[lag]; ok && p.Time != 0 {
		n.lagWindow = append(n.lagWindow, h.Sub(p.Histograms[lag]))
		if len(n.lagWindow) > lagWindow {
			n.lagWindow = n.lagWindow[1:]
		}
	}
	var win observe.Histogram
	for _, h := range n.lagWindow {
		win = win.Add(h)
	}
	v := NodeView{Node: s.Node, Kind: s.Kind, Seen: s.Time, Uptime: float64(s.Time-s.Start) / 1000,
		Connections: s.Values["salam_edge_connections"],
		UpgradesS:   rate("salam_edge_upgrades_total"),
		FramesInS:   rate("salam_edge_frames_in_total"),
		FramesOutS:  rate("salam_edge_frames_out_total"),
		LatP50:      ms(win.Quantile(0.5)), LatP99: ms(win.Quantile(0.99)),
		SlowCloses: s.Values["salam_edge_slow_consumer_closes_total"],
		Health:     make(map[string]float64)}
	for _, k := range healthKeys {
		if x, ok := s.Values[k]; ok {
			v.Health[k] = x
		}
	}
	n.derived = v
}

// healthKeys are the gauges and counters the health panel shows.
var healthKeys = []string{
	"salam_nats_client_connected", "salam_nats_client_rtt_seconds", "salam_nats_client_reconnects_total", "salam_nats_client_slow_consumer_errors_total",
	"salam_nats_server_connections", "salam_nats_server_slow_consumers_total", "salam_nats_server_subscriptions",
	"salam_store_pool_total_conns", "salam_store_pool_idle_conns", "salam_store_pool_acquired_conns",
	"salam_store_pool_wait_count", "salam_store_open_connections", "salam_store_in_use",
	"salam_redis_up", "salam_redis_ping_seconds",
}

func ms(seconds float64) float64 {
	if math.IsNaN(seconds) {
		return -1
	}
	return math.Round(seconds*1e6) / 1e3
}

// tick drops stale nodes, appends one aggregate point and returns the
// overview to stream.
func (o *overview) tick(now time.Time) Overview {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := Overview{Time: now.UnixMilli()}
	tot := point{T: now.UnixMilli()}
	var win observe.Histogram
	for id, n := range o.nodes {
		if now.Sub(n.seen) > o.cfg.StaleAfter {
			delete(o.nodes, id)
			continue
		}
		v := n.derived
		out.Nodes = append(out.Nodes, v)
		tot.Connections += v.Connections
		tot.UpgradesS += v.UpgradesS
		tot.FramesInS += v.FramesInS
		tot.FramesOutS += v.FramesOutS
		for _, h := range n.lagWindow {
			win = win.Add(h)
		}
	}
	tot.LatP50, tot.LatP99 = ms(win.Quantile(0.5)), ms(win.Quantile(0.99))
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].Node < out.Nodes[j].Node })
	o.series = append(o.series, tot)
	if keep := int(o.cfg.History / time.Second); len(o.series) > keep {
		o.series = append(o.series[:0], o.series[len(o.series)-keep:]...)
	}
	out.Totals = tot
	out.Series = append([]point(nil), o.series...)
	return out
}
