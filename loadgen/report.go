package loadgen

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Report is the result of a run, written as JSON with snake_case keys.
type Report struct {
	Scenario             string    `json:"scenario"`
	URL                  string    `json:"url"`
	Subprotocol          string    `json:"subprotocol"`
	StartedAt            time.Time `json:"started_at"`
	DurationS            float64   `json:"duration_s"`
	Workers              int       `json:"workers"`
	ConnectionsRequested int       `json:"connections_requested"`
	ConnectionsOpened    int64     `json:"connections_opened"`
	// ConnectionsDropped counts opened connections that the server closed,
	// or that failed, before the run closed them.
	ConnectionsDropped int64            `json:"connections_dropped"`
	DropsByKind        map[string]int64 `json:"drops_by_kind,omitempty"`
	ConnectErrors      ErrorCounts      `json:"connect_errors"`

	MessagesSent  int64 `json:"messages_sent"`
	MessagesAcked int64 `json:"messages_acked"`
	PublishErrors int64 `json:"publish_errors"`
	// PublishErrorsByKind counts failed publishes by kind (see errorKind).
	PublishErrorsByKind map[string]int64 `json:"publish_errors_by_kind,omitempty"`
	DeliveriesExpected  int64            `json:"deliveries_expected"` // messages acked × subscribers
	DeliveriesReceived  int64            `json:"deliveries_received"`
	Lost                int64            `json:"lost"`                  // expected − received, never negative
	Unexpected          int64            `json:"deliveries_unexpected"` // events not from this run's publishes

	ConnectMs     Quantiles `json:"connect_ms"`   // dial → connected
	SubscribeMs   Quantiles `json:"subscribe_ms"` // subscribe → ack (fanout)
	DeliveryMs    Quantiles `json:"delivery_ms"`  // publish → each receipt
	LastReceiptMs Quantiles `json:"last_receipt_ms"`
	AckMs         Quantiles `json:"ack_ms"` // publish → ack

	RSSBeforeBytes   int64   `json:"rss_before_bytes"`
	RSSAfterBytes    int64   `json:"rss_after_bytes"`
	RSSPerConnBytes  int64   `json:"rss_per_conn_bytes"`
	TargetCPUSeconds float64 `json:"target_cpu_seconds"` // idle: during the hold; fanout: publishing and drain
	WorkerRSSBytes   int64   `json:"worker_rss_bytes"`   // all workers, after their ramp
}

// ErrorCounts counts failures by kind (see errorKind).
type ErrorCounts struct {
	Total  int64            `json:"total"`
	ByKind map[string]int64 `json:"by_kind"`
}

// Quantiles summarise a latency distribution in milliseconds.
type Quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Histogram range: 1 µs to 10 minutes at 3 significant digits.
const (
	histMin    = 1
	histMax    = int64(10 * time.Minute / time.Microsecond)
	histDigits = 3
)

func newHist() *hdr.Histogram { return hdr.New(histMin, histMax, histDigits) }

// recordDuration records d in microseconds, clamped to the histogram range
// (a negative latency means clocks disagree; it is recorded as 1 µs).
func recordDuration(h *hdr.Histogram, d time.Duration) {
	us := min(max(int64(d/time.Microsecond), histMin), histMax)
	_ = h.RecordValue(us)
}

// quantilesOf summarises a microsecond histogram in milliseconds.
func quantilesOf(h *hdr.Histogram) Quantiles {
	if h == nil || h.TotalCount() == 0 {
		return Quantiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Quantiles{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

func encodeHist(h *hdr.Histogram) (string, error) {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	return string(b), err
}

// mergeEncoded decodes s into dst; an empty s adds nothing.
func mergeEncoded(dst *hdr.Histogram, s string) error {
	if s == "" {
		return nil
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return fmt.Errorf("loadgen: histogram from worker: %w", err)
	}
	if dropped := dst.Merge(h); dropped != 0 {
		return fmt.Errorf("loadgen: %d histogram values out of range", dropped)
	}
	return nil
}

// lost is expected − received, clamped at 0: receipts of publishes that
// failed to be acked can make received exceed expected.
func lost(expected, received int64) int64 {
	return max(expected-received, 0)
}

// lastReceipts returns, per message that reached anyone, the time from its
// publish to its last receipt. sent and last are Unix nanoseconds indexed by
// message; 0 means never sent or never received.
func lastReceipts(sent, last []int64) []time.Duration {
	var out []time.Duration
	for i := range min(len(sent), len(last)) {
		if sent[i] != 0 && last[i] != 0 {
			out = append(out, time.Duration(last[i]-sent[i]))
		}
	}
	return out
}

// rssPerConn is the server's memory growth per opened connection.
func rssPerConn(before, after, opened int64) int64 {
	if opened <= 0 || before <= 0 || after <= 0 {
		return 0
	}
	return (after - before) / opened
}

func mergeKinds(dst map[string]int64, src map[string]int64) {
	for k, v := range src {
		dst[k] += v
	}
}

// WriteFile writes r as indented JSON to path.
func (r *Report) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
