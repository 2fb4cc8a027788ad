package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/salamhq/salam/wire"
)

// Scenario names.
const (
	ScenarioIdle   = "idle"
	ScenarioFanout = "fanout"
)

// ConnsPerWorker is how many connections a worker holds by default: a
// process may open 20,000 files here, and a worker needs a few for itself.
const ConnsPerWorker = 15000

// Options configure a run. Zero fields take the defaults named on them.
type Options struct {
	Scenario string // ScenarioIdle or ScenarioFanout; required
	URL      string // ws:// or wss:// URL of /v1/ws; required
	Conns    int    // connections to open (fanout: subscribers); required

	// Workers is the number of worker processes. Default
	// ceil(Conns / ConnsPerWorker).
	Workers int
	// Rate is the total ramp rate in new connections per second, shared
	// evenly by the workers. Default 2000.
	Rate int
	// Hold is how long the idle scenario holds its connections after the
	// settle. Default 10s. The fanout scenario ignores it.
	Hold time.Duration
	// Settle is the pause between the end of the ramp and the "after" RSS
	// sample. Default 2s.
	Settle time.Duration
	// SourceAddrs are the local IPv4 addresses connections are bound to;
	// each worker gets a disjoint share (workers share addresses only when
	// there are fewer addresses than workers). Default 127.0.0.2 …
	// 127.0.0.65 (64 addresses).
	SourceAddrs []string
	// Token is sent by every connection. When Secret is set instead, each
	// connection gets its own HS256 token for user "lg-<n>" (the publisher
	// is "lg-pub"). Neither: connections send no token.
	Token  string
	Secret string
	// Subprotocol is wire.SubprotocolMsgpack (default) or
	// wire.SubprotocolJSON.
	Subprotocol string
	// ConnectTimeout bounds one connection's dial, connect and subscribe.
	// Default 10s.
	ConnectTimeout time.Duration

	// Fanout only.
	Channel     string        // default "loadgen"
	Messages    int           // publishes; default 20
	Interval    time.Duration // between publishes; default 500ms
	PayloadSize int           // bytes per publish, at least 20 (the header); default 64
	// Drain is how long the controller waits, after the last publish was
	// answered, for deliveries to arrive. Default 10s; the wait ends early
	// once every expected delivery was counted.
	Drain time.Duration

	// TargetPID is the server process to sample (RSS from
	// /proc/PID/status, CPU from /proc/PID/stat); 0 samples nothing.
	TargetPID int
	// ReportFile receives the report as indented JSON when non-empty.
	ReportFile string
	// InProcess runs the workers as goroutines of the calling process
	// instead of subprocesses. For tests and small runs: all connections
	// then count against this one process's file limit.
	InProcess bool
}

// payloadHeader is the fixed prefix of a fanout payload: send time (8),
// message index (4), run id (8).
const payloadHeader = 20

// EnsureDefaults fills zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.Workers <= 0 && o.Conns > 0 {
		o.Workers = (o.Conns + ConnsPerWorker - 1) / ConnsPerWorker
	}
	if o.Rate <= 0 {
		o.Rate = 2000
	}
	if o.Hold <= 0 && o.Scenario == ScenarioIdle {
		o.Hold = 10 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	if len(o.SourceAddrs) == 0 {
		o.SourceAddrs, _ = ParseSourceAddrs("127.0.0.2-127.0.0.65")
	}
	if o.Subprotocol == "" {
		o.Subprotocol = wire.SubprotocolMsgpack
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.Channel == "" {
		o.Channel = "loadgen"
	}
	if o.Messages <= 0 {
		o.Messages = 20
	}
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	if o.PayloadSize <= 0 {
		o.PayloadSize = 64
	}
	if o.Drain <= 0 {
		o.Drain = 10 * time.Second
	}
}

// Validate reports the first invalid field, by name.
func (o *Options) Validate() error {
	switch {
	case o.Scenario != ScenarioIdle && o.Scenario != ScenarioFanout:
		return fmt.Errorf("loadgen: scenario %q: want %q or %q", o.Scenario, ScenarioIdle, ScenarioFanout)
	case o.Conns <= 0:
		return errors.New("loadgen: conns must be positive")
	case o.Workers <= 0 || o.Workers > o.Conns:
		return fmt.Errorf("loadgen: workers %d: want 1..conns (%d)", o.Workers, o.Conns)
	case o.Rate <= 0:
		return errors.New("loadgen: rate must be positive")
	case o.PayloadSize < payloadHeader:
		return fmt.Errorf("loadgen: payload %d: want at least %d bytes", o.PayloadSize, payloadHeader)
	case !wire.ValidChannel(o.Channel):
		return fmt.Errorf("loadgen: channel %q is not a valid channel name", o.Channel)
	case o.Token != "" && o.Secret != "":
		return errors.New("loadgen: token and secret are exclusive")
	case o.Secret != "" && len(o.Secret) < 32:
		return errors.New("loadgen: secret shorter than 32 bytes")
	}
	if _, ok := wire.CodecFor(o.Subprotocol); !ok {
		return fmt.Errorf("loadgen: subprotocol %q unknown", o.Subprotocol)
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("loadgen: url %q: want ws://host:port/v1/ws", o.URL)
	}
	if len(o.SourceAddrs) == 0 {
		return errors.New("loadgen: source addrs empty")
	}
	for _, a := range o.SourceAddrs {
		if ip := net.ParseIP(a); ip == nil || ip.To4() == nil {
			return fmt.Errorf("loadgen: source addr %q is not an IPv4 address", a)
		}
	}
	return nil
}

// ParseSourceAddrs parses a comma-separated list of IPv4 addresses and
// inclusive ranges: "127.0.0.2-127.0.0.65,127.0.1.1".
func ParseSourceAddrs(s string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := netip.ParseAddr(strings.TrimSpace(lo))
		if err != nil || !first.Is4() {
			return nil, fmt.Errorf("loadgen: source addr %q: not an IPv4 address", lo)
		}
		last := first
		if isRange {
			if last, err = netip.ParseAddr(strings.TrimSpace(hi)); err != nil || !last.Is4() {
				return nil, fmt.Errorf("loadgen: source addr %q: not an IPv4 address", hi)
			}
			if last.Less(first) {
				return nil, fmt.Errorf("loadgen: source range %q runs backwards", item)
			}
		}
		for a := first; ; a = a.Next() {
			out = append(out, a.String())
			if len(out) > 1<<16 {
				return nil, errors.New("loadgen: more than 65536 source addresses")
			}
			if a == last {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("loadgen: no source addresses")
	}
	return out, nil
}

// splitAddrs gives worker w of n its share of addrs: disjoint slices when
// there are at least n addresses, otherwise one shared address each.
func splitAddrs(addrs []string, w, n int) []string {
	if len(addrs) < n {
		return []string{addrs[w%len(addrs)]}
	}
	lo, hi := w*len(addrs)/n, (w+1)*len(addrs)/n
	return addrs[lo:hi]
}

// splitCount gives worker w of n its share of total, and the index of its
// first item; shares differ by at most one.
func splitCount(total, w, n int) (first, count int) {
	first = w * total / n
	return first, (w+1)*total/n - first
}
