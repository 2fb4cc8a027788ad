package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// workerConfig is the first line the controller writes to a worker.
type workerConfig struct {
	Worker         int      `json:"worker"`
	Scenario       string   `json:"scenario"`
	URL            string   `json:"url"`
	Conns          int      `json:"conns"`
	FirstUser      int      `json:"first_user"` // user number of the first connection: "lg-<n>"
	Rate           float64  `json:"rate"`       // this worker's share, connections per second
	SourceAddrs    []string `json:"source_addrs"`
	Token          string   `json:"token,omitempty"`
	Secret         string   `json:"secret,omitempty"`
	TokenTTLMs     int64    `json:"token_ttl_ms,omitempty"`
	Subprotocol    string   `json:"subprotocol"`
	ConnectTimeout int64    `json:"connect_timeout_ms"`
	Channel        string   `json:"channel,omitempty"`  // broadcast
	Messages       int      `json:"messages,omitempty"` // broadcast
	RunID          int64    `json:"run_id"`
	ReadBuffer     int      `json:"read_buffer,omitempty"` // per-connection read buffer, bytes
	InProcess      bool     `json:"in_process,omitempty"`  // a goroutine of the controller: its RSS is not the worker's own

	// Room scenarios: this worker's rooms, in order; connection i is a
	// member of Rooms[i/RoomSize].
	Rooms       []string `json:"rooms,omitempty"`
	RoomSize    int      `json:"room_size,omitempty"`
	PublishRate float64  `json:"publish_rate,omitempty"` // per room (chat) or per connection (dm)
	PayloadSize int      `json:"payload_size,omitempty"`
	HoldMs      int64    `json:"hold_ms,omitempty"`
	DrainMs     int64    `json:"drain_ms,omitempty"`
	DownMs      int64    `json:"down_ms,omitempty"` // presence
	Percent     float64  `json:"percent,omitempty"` // presence, reconnect
}

// command is every later line the controller writes to a worker.
type command struct {
	Cmd string `json:"cmd"` // cmdStart or cmdClose
}

const (
	cmdStart = "start" // begin the active phase (scenarios with a worker phase)
	cmdClose = "close"
)

// Worker message types.
const (
	msgProgress = "progress"
	msgReady    = "ready"
	msgResult   = "result"
	msgDone     = "done" // the active phase is over
	msgFatal    = "fatal"
)

// workerMsg is one line a worker writes to stdout. Every message carries
// the worker's counters as of when it was written.
type workerMsg struct {
	Type   string `json:"type"`
	Worker int    `json:"worker"`
	counters
	RSSBytes int64 `json:"rss_bytes,omitempty"` // the worker's own RSS (ready, result)
	// LatencyDelta and AckDelta (progress) hold the values of the
	// scenario's followed latency and of publish acks recorded since the
	// previous progress line: HDR, as in workerResult.Hists.
	LatencyDelta string        `json:"latency_delta,omitempty"`
	AckDelta     string        `json:"ack_delta,omitempty"`
	Error        string        `json:"error,omitempty"`  // fatal
	Result       *workerResult `json:"result,omitempty"` // result
}

// counters are a worker's running totals.
type counters struct {
	Attempted  int64 `json:"attempted"`            // ramp connection attempts finished (ok or not)
	Opened     int64 `json:"opened"`               // connected in the ramp (and subscribed, where the scenario subscribes)
	Failed     int64 `json:"failed"`               // ramp attempts that failed
	Dropped    int64 `json:"dropped"`              // open connections the server closed or lost before we closed them
	Closed     int64 `json:"closed,omitempty"`     // connections the scenario closed on purpose (presence, reconnect)
	Reopened   int64 `json:"reopened,omitempty"`   // connections opened again after such a close
	Sent       int64 `json:"sent,omitempty"`       // publishes sent by the worker's connections (dm, chat)
	Acked      int64 `json:"acked,omitempty"`      // of those, acknowledged
	PubFailed  int64 `json:"pub_failed,omitempty"` // of those, answered with an error or never answered
	Received   int64 `json:"received"`             // message events counted (broadcast, dm, chat)
	Presence   int64 `json:"presence,omitempty"`   // presence frames counted
	Unexpected int64 `json:"unexpected"`           // frames not from this run, out of range or in the wrong channel
}

// open is the number of connections open now.
func (c *counters) open() int64 { return c.Opened + c.Reopened - c.Closed - c.Dropped }

// add adds o to c.
func (c *counters) add(o *counters) {
	c.Attempted += o.Attempted
	c.Opened += o.Opened
	c.Failed += o.Failed
	c.Dropped += o.Dropped
	c.Closed += o.Closed
	c.Reopened += o.Reopened
	c.Sent += o.Sent
	c.Acked += o.Acked
	c.PubFailed += o.PubFailed
	c.Received += o.Received
	c.Presence += o.Presence
	c.Unexpected += o.Unexpected
}

// workerResult is the detail a worker sends once, after closing.
type workerResult struct {
	ErrorsByKind          map[string]int64 `json:"errors_by_kind,omitempty"`
	DropsByKind           map[string]int64 `json:"drops_by_kind,omitempty"`
	PublishErrorsByKind   map[string]int64 `json:"publish_errors_by_kind,omitempty"`
	ReconnectErrorsByKind map[string]int64 `json:"reconnect_errors_by_kind,omitempty"`
	// Hists are the worker's latency distributions by report key
	// ("connect_ms", "delivery_ms" …): HDR V2 compressed, base64, in
	// microseconds.
	Hists map[string]string `json:"hists,omitempty"`

	MsgCount []int64 `json:"msg_count,omitempty"` // broadcast: receipts per message index
	MsgLast  []int64 `json:"msg_last,omitempty"`  // broadcast: latest receipt per message, Unix ns (0: none)

	Expected   int64            `json:"expected,omitempty"`     // dm, chat: deliveries due for acked messages
	Lost       int64            `json:"lost,omitempty"`         // dm, chat: of those, never received
	LostByRoom map[string]int64 `json:"lost_by_room,omitempty"` // dm, chat: loss by room, for at most maxLostRooms rooms
	LossRooms  int64            `json:"loss_rooms,omitempty"`   // dm, chat: rooms with a loss

	Presence *presenceResult `json:"presence,omitempty"`

	Recovered   int64 `json:"recovered,omitempty"`   // reconnect: dropped connections back in time
	Unrecovered int64 `json:"unrecovered,omitempty"` // reconnect: not back within the drain time
}

// presenceResult is what a presence worker measured.
type presenceResult struct {
	Online      int64 `json:"online"`      // online frames received
	Offline     int64 `json:"offline"`     // offline frames received
	Transitions int64 `json:"transitions"` // connects and disconnects of the churn
	Expected    int64 `json:"expected"`    // frames due to watchers connected throughout
	Missed      int64 `json:"missed"`      // of those, not received within the drain time
	Late        int64 `json:"late"`        // received after the drain time (also missed)
	Duplicates  int64 `json:"duplicates"`  // a change received twice by one watcher
}

// lineWriter writes JSON lines; safe for concurrent use.
type lineWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newLineWriter(w io.Writer) *lineWriter { return &lineWriter{enc: json.NewEncoder(w)} }

func (l *lineWriter) write(v any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enc.Encode(v) // one line: Encode appends '\n' and never indents
}

// maxLine bounds one protocol line; a result with histograms and a few
// thousand per-message counters stays far below.
const maxLine = 64 << 20

// readLines calls fn with each JSON line of r decoded into a fresh T, until
// EOF (nil), a read error, a decode error or an error from fn.
func readLines[T any](r io.Reader, fn func(*T) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		v := new(T)
		if err := json.Unmarshal(sc.Bytes(), v); err != nil {
			return fmt.Errorf("loadgen: bad protocol line %.80q: %w", sc.Text(), err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return sc.Err()
}
