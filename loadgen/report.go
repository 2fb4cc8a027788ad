package loadgen

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Report is the result of a run, written as JSON with snake_case keys.
// Every run has the keys up to series_latency; the objects presence,
// reconnect and the monitor's figures appear only in runs that measured
// them.
type Report struct {
	Scenario             string    `json:"scenario"`
	URL                  string    `json:"url"`
	Subprotocol          string    `json:"subprotocol"`
	StartedAt            time.Time `json:"started_at"`
	DurationS            float64   `json:"duration_s"`
	Workers              int       `json:"workers"`
	ConnectionsRequested int       `json:"connections_requested"`
	ConnectionsOpened    int64     `json:"connections_opened"` // in the ramp
	// ConnectionsDropped counts open connections that the server closed,
	// or that failed, before the run closed them.
	ConnectionsDropped  int64            `json:"connections_dropped"`
	DropsByKind         map[string]int64 `json:"drops_by_kind"`
	ConnectErrors       int64            `json:"connect_errors"` // failed attempts of the ramp
	ConnectErrorsByKind map[string]int64 `json:"connect_errors_by_kind"`

	// The workload (inputs of plan).
	Rooms        int     `json:"rooms,omitempty"`     // dm, chat, presence
	RoomSize     int     `json:"room_size,omitempty"` // dm, chat, presence
	PublishRate  float64 `json:"publish_rate,omitempty"`
	PayloadBytes int     `json:"payload_bytes,omitempty"`
	// ActiveS is how long the active phase lasted: the hold (idle),
	// publishing and drain (broadcast, dm, chat), churn and judging
	// (presence), recovery (reconnect). Target CPU and the monitor's rates
	// are measured over it.
	ActiveS float64 `json:"active_s"`

	MessagesSent  int64 `json:"messages_sent"`
	MessagesAcked int64 `json:"messages_acked"`
	PublishErrors int64 `json:"publish_errors"` // answered with an error, or not answered in time
	// PublishErrorsByKind counts failed publishes by kind (see errorKind).
	PublishErrorsByKind map[string]int64 `json:"publish_errors_by_kind,omitempty"`
	// DeliveriesExpected is, for acked messages, the receipts due: every
	// subscriber (broadcast), every other member of the room (dm, chat).
	DeliveriesExpected int64 `json:"deliveries_expected"`
	MessagesReceived   int64 `json:"messages_received"` // receipts counted
	// MessagesLost is the receipts due for acked messages that never came;
	// never negative.
	MessagesLost  int64            `json:"messages_lost"`
	RoomsWithLoss int64            `json:"rooms_with_loss,omitempty"` // dm, chat
	LostByRoom    map[string]int64 `json:"lost_by_room,omitempty"`    // dm, chat: at most 100 rooms per worker
	// UnexpectedFrames counts frames that were not this run's: events of
	// other runs, in the wrong channel or out of range, and undecodable
	// messages.
	UnexpectedFrames int64 `json:"unexpected_frames"`

	ConnectMs     Quantiles `json:"connect_ms"`      // dial → connected
	SubscribeMs   Quantiles `json:"subscribe_ms"`    // subscribe → ack
	AckMs         Quantiles `json:"ack_ms"`          // publish → ack
	DeliveryMs    Quantiles `json:"delivery_ms"`     // publish → each receipt
	LastReceiptMs Quantiles `json:"last_receipt_ms"` // publish → the last receipt of a message that reached everyone

	RSSBeforeBytes   int64   `json:"rss_before_bytes"`
	RSSAfterBytes    int64   `json:"rss_after_bytes"`
	RSSPerConnBytes  int64   `json:"rss_per_conn_bytes"`
	TargetCPUSeconds float64 `json:"target_cpu_seconds"` // during the active phase
	WorkerRSSBytes   int64   `json:"worker_rss_bytes"`   // all workers, after their ramp

	Presence  *PresenceStats  `json:"presence,omitempty"`
	Reconnect *ReconnectStats `json:"reconnect,omitempty"`

	// Measured with Options.Redis and Options.NATS over the active phase.
	RedisCommandsPerS      *float64 `json:"redis_commands_per_s,omitempty"`
	NATSPresenceMsgsPerS   *float64 `json:"nats_presence_msgs_per_s,omitempty"`   // edge reports on salam.presence
	NATSPresenceEventsPerS *float64 `json:"nats_presence_events_per_s,omitempty"` // presence frames on salam.ev.>

	// SeriesLatency names the latency the series follows: delivery_ms
	// (broadcast, dm, chat), connect_ms (idle), presence_ms (presence: online
	// and offline together), recovery_ms (reconnect).
	SeriesLatency string   `json:"series_latency"`
	Series        []Sample `json:"series"`
}

// PresenceStats is what the presence scenario measured.
type PresenceStats struct {
	EventsReceived  int64 `json:"events_received"` // presence frames, the ramp's included
	OnlineReceived  int64 `json:"online_received"`
	OfflineReceived int64 `json:"offline_received"`
	Changes         int64 `json:"changes"`    // connects and disconnects of the churn
	Expected        int64 `json:"expected"`   // frames due to watchers connected throughout
	Missed          int64 `json:"missed"`     // of those, not received within the drain time
	Late            int64 `json:"late"`       // received after the drain time (counted as missed too)
	Duplicates      int64 `json:"duplicates"` // one change received twice by one watcher
	Cycles          int64 `json:"cycles"`     // disconnects of the churn
	Reconnections   int64 `json:"reconnections"`
	// ReconnectErrors are failed attempts to connect again (each retried).
	ReconnectErrors       int64            `json:"reconnect_errors"`
	ReconnectErrorsByKind map[string]int64 `json:"reconnect_errors_by_kind"`
	OnlineMs              Quantiles        `json:"online_ms"`  // connected → each watcher's online frame
	OfflineMs             Quantiles        `json:"offline_ms"` // close → each watcher's offline frame
}

// ReconnectStats is what the reconnect scenario measured.
type ReconnectStats struct {
	Dropped   int64 `json:"dropped"`   // connections closed at once
	Recovered int64 `json:"recovered"` // connected again within the drain time
	Failed    int64 `json:"failed"`    // not back within the drain time
	// Errors are failed attempts to connect again (each retried).
	Errors       int64            `json:"errors"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind"`
	RecoveryMs   Quantiles        `json:"recovery_ms"` // drop → connected again; max: the whole storm
}

// Sample is one second of a run, as the controller saw it.
type Sample struct {
	T             float64 `json:"t_s"`            // seconds since the run started
	Connections   int64   `json:"connections"`    // open
	ConnectErrors int64   `json:"connect_errors"` // so far
	Dropped       int64   `json:"dropped"`        // so far
	Sent          int64   `json:"messages_sent"`  // so far
	Acked         int64   `json:"messages_acked"` // so far
	PublishErrors int64   `json:"publish_errors"` // so far
	Received      int64   `json:"messages_received"`
	Presence      int64   `json:"presence_events,omitempty"` // so far
	// The followed latency (Report.SeriesLatency) and publish acks, over
	// the values recorded in this second; 0 when there were none.
	LatencyCount int64   `json:"latency_count"`
	LatencyP50   float64 `json:"latency_p50_ms"`
	LatencyP99   float64 `json:"latency_p99_ms"`
	AckP99       float64 `json:"ack_p99_ms"`
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
