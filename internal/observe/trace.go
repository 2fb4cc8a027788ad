package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/salamhq/salam/internal/bus"
)

// TraceConfig is the "trace" section of the process config.
type TraceConfig struct {
	// SampleRate is the fraction of ordinary clients' messages whose
	// journey is traced, 0..1; default 0.001 (one in a thousand). Messages
	// sent by admin tokens (the console) are always traced. A negative
	// value turns sampling of ordinary messages off.
	SampleRate float64 `yaml:"sample_rate"`
	// OTLPURL, when set, also exports every span over OTLP/HTTP
	// (protobuf) to a collector, e.g. http://otel-collector:4318 (the
	// path defaults to /v1/traces; http:// sends without TLS). Empty
	// (default): spans go only to the console.
	OTLPURL string `yaml:"otlp_url"`
}

// EnsureDefaults fills zero fields with their defaults.
func (c *TraceConfig) EnsureDefaults() {
	if c.SampleRate == 0 {
		c.SampleRate = 0.001
	}
}

// Validate names the first bad field.
func (c *TraceConfig) Validate() error {
	if c.SampleRate > 1 || math.IsNaN(c.SampleRate) {
		return fmt.Errorf("observe: invalid config field trace.sample_rate %v (0..1)", c.SampleRate)
	}
	if c.OTLPURL != "" {
		u, err := url.Parse(c.OTLPURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("observe: invalid config field trace.otlp_url %q (http(s)://host:port[/path])", c.OTLPURL)
		}
	}
	return nil
}

// Span is a finished span as the console receives it: ids, name, times
// and a few attributes (channel, message id, sequence, users, counts),
// never a message body.
type Span struct {
	Trace  string            `json:"trace"`
	Span   string            `json:"span"`
	Parent string            `json:"parent,omitempty"`
	Name   string            `json:"name"`
	Node   string            `json:"node"`
	Start  int64             `json:"start"` // Unix nanoseconds
	End    int64             `json:"end"`
	Attrs  map[string]string `json:"attrs,omitempty"`
}

// Tracer records the spans of sampled messages. A nil *Tracer samples
// nothing and records nothing.
type Tracer struct {
	node      string
	threshold uint64 // Sample is true when a random uint64 is below it
	tp        *sdktrace.TracerProvider
	tr        trace.Tracer
}

// NewTracer builds a tracer for node whose finished spans are published on
// SpansSubject over nc, batched by the otel SDK.
func NewTracer(nc *nats.Conn, node string, cfg TraceConfig, log *slog.Logger) (*Tracer, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	exp := &natsExporter{nc: nc, node: node, log: log}
	// The decision is ours (Sample) and made before a span exists: the SDK
	// records whatever it is given.
	opts := []sdktrace.TracerProviderOption{sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(100*time.Millisecond)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "salam"),
			attribute.String("service.instance.id", node)))}
	if cfg.OTLPURL != "" {
		otlp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(otlpTracesURL(cfg.OTLPURL)))
		if err != nil {
			return nil, fmt.Errorf("observe: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(otlp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	t := &Tracer{node: node, tp: tp, tr: tp.Tracer("github.com/salamhq/salam")}
	if cfg.SampleRate > 0 {
		t.threshold = uint64(cfg.SampleRate * math.MaxUint64)
		if cfg.SampleRate >= 1 {
			t.threshold = math.MaxUint64
		}
	}
	return t, nil
}

// otlpTracesURL adds the OTLP/HTTP traces path when the URL has none.
func otlpTracesURL(s string) string {
	u, _ := url.Parse(s)
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String()
}

// Sample decides whether an ordinary message is traced: one random draw,
// no allocation, no lock.
func (t *Tracer) Sample() bool {
	return t != nil && t.threshold != 0 && rand.Uint64() < t.threshold
}

// Node is the node id spans carry.
func (t *Tracer) Node() string {
	if t == nil {
		return ""
	}
	return t.node
}

// Record records a finished span [start, end] as a child of parent (a new
// trace when parent is not sampled) and returns its context, with Sent
// zero. On a nil Tracer it returns parent.
func (t *Tracer) Record(parent bus.TraceContext, name string, start, end time.Time, attrs ...attribute.KeyValue) bus.TraceContext {
	if t == nil {
		return parent
	}
	ctx := context.Background()
	if parent.Sampled() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: parent.TraceID, SpanID: parent.SpanID, TraceFlags: trace.FlagsSampled, Remote: true}))
	}
	attrs = append(attrs, attribute.String("node", t.node))
	_, span := t.tr.Start(ctx, name, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	span.End(trace.WithTimestamp(end))
	sc := span.SpanContext()
	return bus.TraceContext{TraceID: sc.TraceID(), SpanID: sc.SpanID()}
}

// Shutdown flushes the spans not yet exported.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// natsExporter publishes finished spans on SpansSubject.
type natsExporter struct {
	nc   *nats.Conn
	node string
	log  *slog.Logger
}

func (e *natsExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		out := Span{Trace: s.SpanContext().TraceID().String(), Span: s.SpanContext().SpanID().String(),
			Name: s.Name(), Node: e.node, Start: s.StartTime().UnixNano(), End: s.EndTime().UnixNano()}
		if p := s.Parent(); p.IsValid() {
			out.Parent = p.SpanID().String()
		}
		if attrs := s.Attributes(); len(attrs) > 0 {
			out.Attrs = make(map[string]string, len(attrs))
			for _, a := range attrs {
				out.Attrs[string(a.Key)] = a.Value.Emit()
			}
		}
		data, err := json.Marshal(out)
		if err != nil {
			continue
		}
		if err := e.nc.Publish(SpansSubject, data); err != nil {
			e.log.Debug("observe: publish span", "err", err)
		}
	}
	return nil
}

func (e *natsExporter) Shutdown(context.Context) error { return nil }
