package observe

import (
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// Snapshot is one node's metrics at one instant, as its registry had them.
type Snapshot struct {
	Node  string `json:"node"`  // unique per process: kind-<random>
	Kind  string `json:"kind"`  // edge, core, edge+core, sfu, ingest, ...
	Time  int64  `json:"time"`  // Unix milliseconds
	Start int64  `json:"start"` // when the process started, Unix milliseconds
	// Values holds every counter and gauge family summed over its series
	// under the family name, and, for families of at most maxSeries
	// series, each series under name{label="value",...}.
	Values map[string]float64 `json:"values"`
	// Histograms holds each histogram family merged over its series.
	Histograms map[string]Histogram `json:"histograms,omitempty"`
}

// Histogram is a cumulative Prometheus histogram: Counts[i] observations
// were at most Bounds[i]; Count counts all (the +Inf bucket).
type Histogram struct {
	Bounds []float64 `json:"bounds"`
	Counts []uint64  `json:"counts"`
	Count  uint64    `json:"count"`
	Sum    float64   `json:"sum"`
}

// maxSeries bounds the labelled series a family contributes one by one.
const maxSeries = 16

// fromFamilies condenses gathered metric families.
func fromFamilies(mfs []*dto.MetricFamily) (map[string]float64, map[string]Histogram) {
	values := make(map[string]float64, len(mfs))
	hists := make(map[string]Histogram)
	for _, mf := range mfs {
		name := mf.GetName()
		switch mf.GetType() {
		case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
			var sum float64
			for _, m := range mf.GetMetric() {
				v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				sum += v
				if len(mf.GetMetric()) <= maxSeries && len(m.GetLabel()) > 0 {
					values[seriesName(name, m.GetLabel())] = v
				}
			}
			values[name] = sum
		case dto.MetricType_HISTOGRAM:
			var h Histogram
			for _, m := range mf.GetMetric() {
				h.merge(m.GetHistogram())
			}
			hists[name] = h
		}
	}
	return values, hists
}

func seriesName(name string, labels []*dto.LabelPair) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.GetName())
		b.WriteString(`="`)
		b.WriteString(l.GetValue())
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// merge adds one series; series of one family share bucket bounds.
func (h *Histogram) merge(p *dto.Histogram) {
	bs := p.GetBucket()
	if h.Bounds == nil {
		h.Bounds = make([]float64, len(bs))
		h.Counts = make([]uint64, len(bs))
		for i, b := range bs {
			h.Bounds[i] = b.GetUpperBound()
		}
	}
	if len(bs) == len(h.Counts) {
		for i, b := range bs {
			h.Counts[i] += b.GetCumulativeCount()
		}
	}
	h.Count += p.GetSampleCount()
	h.Sum += p.GetSampleSum()
}

// Sub returns the observations of h that b did not have yet (h later than
// b, same bounds); a reset (h smaller) returns h.
func (h Histogram) Sub(b Histogram) Histogram {
	if len(b.Counts) != len(h.Counts) || b.Count > h.Count {
		return h
	}
	d := Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts)), Count: h.Count - b.Count, Sum: h.Sum - b.Sum}
	for i := range h.Counts {
		if h.Counts[i] >= b.Counts[i] {
			d.Counts[i] = h.Counts[i] - b.Counts[i]
		}
	}
	return d
}

// Add merges b (same bounds) into h.
func (h Histogram) Add(b Histogram) Histogram {
	if h.Counts == nil {
		return Histogram{Bounds: b.Bounds, Counts: append([]uint64(nil), b.Counts...), Count: b.Count, Sum: b.Sum}
	}
	if len(b.Counts) == len(h.Counts) {
		for i := range h.Counts {
			h.Counts[i] += b.Counts[i]
		}
	}
	h.Count += b.Count
	h.Sum += b.Sum
	return h
}

// Quantile estimates quantile q (0..1) by linear interpolation inside the
// bucket holding it, as Prometheus' histogram_quantile does; NaN without
// observations. Past the last bound it returns the last bound.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count == 0 || len(h.Bounds) == 0 {
		return math.NaN()
	}
	rank := q * float64(h.Count)
	i := sort.Search(len(h.Counts), func(i int) bool { return float64(h.Counts[i]) >= rank })
	if i == len(h.Counts) {
		return h.Bounds[len(h.Bounds)-1]
	}
	lower, below := 0.0, uint64(0)
	if i > 0 {
		lower, below = h.Bounds[i-1], h.Counts[i-1]
	}
	in := h.Counts[i] - below
	if in == 0 {
		return h.Bounds[i]
	}
	return lower + (h.Bounds[i]-lower)*(rank-float64(below))/float64(in)
}
