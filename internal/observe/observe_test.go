package observe

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
)

func TestHistogramQuantile(t *testing.T) {
	h := Histogram{Bounds: []float64{1, 2, 4}, Counts: []uint64{10, 90, 100}, Count: 100}
	for _, tt := range []struct{ q, want float64 }{{0.05, 0.5}, {0.5, 1.5}, {0.99, 3.8}, {1, 4}} {
		if got := h.Quantile(tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("q%v = %v, want %v", tt.q, got, tt.want)
		}
	}
	if !math.IsNaN((Histogram{}).Quantile(0.5)) {
		t.Error("empty histogram has a quantile")
	}
	later := Histogram{Bounds: h.Bounds, Counts: []uint64{10, 95, 110}, Count: 110}
	d := later.Sub(h)
	if d.Count != 10 || d.Counts[0] != 0 || d.Counts[1] != 5 || d.Counts[2] != 10 {
		t.Errorf("Sub = %+v", d)
	}
	if sum := (Histogram{}).Add(d).Add(d); sum.Count != 20 || sum.Counts[2] != 20 {
		t.Errorf("Add = %+v", sum)
	}
}

func TestSample(t *testing.T) {
	var none *Tracer
	if none.Sample() {
		t.Error("nil tracer sampled")
	}
	_, nc := bustest.Start(t)
	for _, tt := range []struct {
		rate     float64
		min, max int
	}{{-1, 0, 0}, {1, 1000, 1000}, {0.5, 400, 600}} {
		tr, err := NewTracer(nc, "n", TraceConfig{SampleRate: tt.rate}, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for range 1000 {
			if tr.Sample() {
				n++
			}
		}
		if n < tt.min || n > tt.max {
			t.Errorf("rate %v: %d of 1000 sampled", tt.rate, n)
		}
	}
	if _, err := NewTracer(nc, "n", TraceConfig{SampleRate: 2}, nil); err == nil {
		t.Error("sample_rate 2 accepted")
	}
}

// The unsampled path of a message costs one random draw: no allocation.
func TestSampleDoesNotAllocate(t *testing.T) {
	tr := &Tracer{threshold: 1} // practically never
	var nilTracer *Tracer
	if n := testing.AllocsPerRun(1000, func() { tr.Sample(); nilTracer.Sample() }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func TestTracerPublishesSpans(t *testing.T) {
	_, nc := bustest.Start(t)
	spans := make(chan Span, 10)
	sub, err := nc.Subscribe(SpansSubject, func(m *nats.Msg) {
		var s Span
		if json.Unmarshal(m.Data, &s) == nil {
			spans <- s
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	tr, err := NewTracer(nc, "edge-1", TraceConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	root := tr.Record(bus.TraceContext{}, "edge received", start, start.Add(time.Millisecond), attribute.String("channel", "general"))
	child := tr.Record(root, "bus → core", start.Add(time.Millisecond), start.Add(2*time.Millisecond))
	if !root.Sampled() || child.TraceID != root.TraceID || child.SpanID == root.SpanID {
		t.Fatalf("contexts %+v %+v", root, child)
	}
	got := map[string]Span{}
	for len(got) < 2 {
		select {
		case s := <-spans:
			got[s.Name] = s
		case <-time.After(5 * time.Second):
			t.Fatalf("spans: got %v", got)
		}
	}
	r, c := got["edge received"], got["bus → core"]
	if c.Parent != r.Span || r.Trace != c.Trace || r.Node != "edge-1" || r.Attrs["channel"] != "general" ||
		c.End-c.Start != int64(time.Millisecond) {
		t.Errorf("spans %+v %+v", r, c)
	}
}

func TestReporterReportsOnlyWhileWatched(t *testing.T) {
	_, nc := bustest.Start(t)
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "salam_edge_upgrades_total"})
	c.Add(5)
	reg.MustRegister(c)
	r, err := NewReporter(nc, "edge", reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.interval = 20 * time.Millisecond
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	snaps, err := nc.SubscribeSync(StatsSubject)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := snaps.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("reported unwatched: %s", m.Data)
	}
	nc.Publish(WatchSubject, nil)
	m, err := snaps.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := json.Unmarshal(m.Data, &s); err != nil || s.Kind != "edge" || s.Values["salam_edge_upgrades_total"] != 5 {
		t.Fatalf("snapshot %+v, %v", s, err)
	}
}

// With trace.otlp_url, spans also reach an OTLP/HTTP collector.
func TestTracerExportsOTLP(t *testing.T) {
	got := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type")
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	_, nc := bustest.Start(t)
	tr, err := NewTracer(nc, "core-1", TraceConfig{OTLPURL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tr.Record(bus.TraceContext{}, "edge received", now, now.Add(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-got:
		if req != "POST /v1/traces application/x-protobuf" {
			t.Errorf("collector got %q", req)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing exported over OTLP")
	}
	for _, bad := range []string{"collector:4318", "ftp://x", "http://"} {
		if err := (&TraceConfig{OTLPURL: bad}).Validate(); err == nil {
			t.Errorf("otlp_url %q accepted", bad)
		}
	}
}
