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
	Channel        string   `json:"channel,omitempty"`
	Messages       int      `json:"messages,omitempty"`
	RunID          int64    `json:"run_id"`
	ReadBuffer     int      `json:"read_buffer,omitempty"` // per-connection read buffer, bytes
	InProcess      bool     `json:"in_process,omitempty"`  // a goroutine of the controller: its RSS is not the worker's own
}

// command is every later line the controller writes to a worker.
type command struct {
	Cmd string `json:"cmd"` // cmdClose
}

const cmdClose = "close"

// Worker message types.
const (
	msgProgress = "progress"
	msgReady    = "ready"
	msgResult   = "result"
	msgFatal    = "fatal"
)

// workerMsg is one line a worker writes to stdout. Every message carries
// the worker's counters as of when it was written.
type workerMsg struct {
	Type   string `json:"type"`
	Worker int    `json:"worker"`
	counters
	RSSBytes int64         `json:"rss_bytes,omitempty"` // the worker's own RSS (ready, result)
	Error    string        `json:"error,omitempty"`     // fatal
	Result   *workerResult `json:"result,omitempty"`    // result
}

// counters are a worker's running totals.
type counters struct {
	Attempted  int64 `json:"attempted"`  // connection attempts finished (ok or not)
	Opened     int64 `json:"opened"`     // connected (fanout: and subscribed)
	Failed     int64 `json:"failed"`     // attempts that failed
	Dropped    int64 `json:"dropped"`    // opened connections the server closed or lost before we closed them
	Received   int64 `json:"received"`   // fanout: events counted
	Unexpected int64 `json:"unexpected"` // fanout: events not from this run or out of range
}

// workerResult is the detail a worker sends once, after closing.
type workerResult struct {
	ErrorsByKind  map[string]int64 `json:"errors_by_kind,omitempty"`
	DropsByKind   map[string]int64 `json:"drops_by_kind,omitempty"`
	ConnectHist   string           `json:"connect_hist"`             // HDR V2 compressed, base64; microseconds
	SubscribeHist string           `json:"subscribe_hist,omitempty"` // fanout
	DeliveryHist  string           `json:"delivery_hist,omitempty"`  // fanout: send→receipt, µs
	MsgCount      []int64          `json:"msg_count,omitempty"`      // fanout: receipts per message index
	MsgLast       []int64          `json:"msg_last,omitempty"`       // fanout: latest receipt per message, Unix ns (0: none)
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
