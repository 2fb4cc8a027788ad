package loadgen

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/salamhq/salam/wire"
)

// ConnsPerWorker is how many connections a worker holds by default: a
// process may open 20,000 files here, and a worker needs a few for itself.
const ConnsPerWorker = 15000

// Options configure a run. Zero fields take the defaults named on them.
type Options struct {
	Scenario string // one of Scenarios(); required
	URL      string // ws:// or wss:// URL of /v1/ws; required
	// Conns is the number of connections to open: subscribers (broadcast),
	// users (dm, chat, presence: a multiple of the room size), or held
	// connections (idle, reconnect). Required.
	Conns int

	// Workers is the number of worker processes. Default
	// ceil(Conns / ConnsPerWorker), and never more than the rooms of a room
	// scenario: a room's members live in one worker.
	Workers int
	// Rate is the total ramp rate in new connections per second, shared
	// evenly by the workers. Default 2000.
	Rate int
	// Hold is how long the active phase lasts: idle holds, dm and chat
	// publish, presence churns. Default 10s. Broadcast and reconnect ignore
	// it (they run for Messages publishes, and until recovery).
	Hold time.Duration
	// Settle is the pause between the end of the ramp and the active phase,
	// where the server's RSS is sampled. Default 2s. Idle and presence always
	// settle; the others only when TargetPID is set.
	Settle time.Duration
	// SourceAddrs are the local IPv4 addresses connections are bound to;
	// each worker gets a disjoint share (workers share addresses only when
	// there are fewer addresses than workers). Default 127.0.0.2 …
	// 127.0.0.65 (64 addresses).
	SourceAddrs []string
	// Token is sent by every connection. When Secret is set instead, each
	// connection gets its own HS256 token for user "lg-<n>" (the broadcast
	// publisher is "lg-pub"). Neither: connections send no token. Room
	// scenarios (dm, chat, presence) need Secret: they create channels for
	// many users over REST.
	Token  string
	Secret string
	// Subprotocol is wire.SubprotocolMsgpack (default) or
	// wire.SubprotocolJSON.
	Subprotocol string
	// ConnectTimeout bounds one connection's dial, connect and subscribe,
	// and the wait for one publish's ack. Default 10s.
	ConnectTimeout time.Duration

	// PublishRate is messages per second: of the publisher (broadcast), of
	// each room (chat: a random member publishes), of each side of a pair
	// (dm). Default 2, or 1/Interval when Interval is set.
	PublishRate float64
	// Interval is the legacy form of PublishRate (fanout's --interval).
	Interval time.Duration
	// Messages is how many messages the broadcast publisher sends. Default 20.
	Messages int
	// PayloadSize is the bytes of one publish, at least 20 (the header).
	// Default 64.
	PayloadSize int
	// Channel is the broadcast channel. Default "loadgen".
	Channel string
	// RoomSize is the members of one room: chat rooms (groups) and the
	// shared channels of presence. Default 10; dm rooms are pairs (2).
	RoomSize int
	// Percent is, for presence, the share of users that start a reconnect
	// cycle each second (default 5), and for reconnect, the share of
	// connections dropped at once (default 10).
	Percent float64
	// Down is how long a presence user stays disconnected in a cycle.
	// Default 2s: longer than the server's presence coalescing window (1s
	// by default), within which an offline→online flap is rightly silent.
	Down time.Duration
	// Drain is how long a run waits, after the active phase, for what is
	// still due: deliveries of acked messages (broadcast, dm, chat; the wait
	// ends early once everything arrived), presence changes (presence: a
	// change not seen by a watcher within Drain is missed), reconnections
	// (reconnect: a connection not back within Drain of the drop failed).
	// Default 10s.
	Drain time.Duration

	// TargetPID is the server process to sample (RSS from
	// /proc/PID/status, CPU from /proc/PID/stat); 0 samples nothing.
	TargetPID int
	// Redis is a Redis address (host:port) whose total_commands_processed
	// is read before and after the active phase; empty reads nothing.
	Redis string
	// NATS is a NATS URL on which presence traffic is counted during the
	// active phase: edge reports on salam.presence and presence frames on
	// salam.ev.>. Empty counts nothing.
	NATS string
	// RemoteWorkers is the number of workers on other hosts
	// ("salam loadgen-worker --nats URL") to claim over NATS, in addition
	// to Workers local ones; they bind to their own source addresses.
	RemoteWorkers int
	// RemoteWait bounds the wait for RemoteWorkers to announce themselves
	// on NATS. Default 30s.
	RemoteWait time.Duration
	// ReportFile receives the report as indented JSON when non-empty.
	ReportFile string
	// ChartFile receives the HTML chart of the run's time series when
	// non-empty.
	ChartFile string
	// InProcess runs the workers as goroutines of the calling process
	// instead of subprocesses. For tests and small runs: all connections
	// then count against this one process's file limit.
	InProcess bool
}

// payloadHeader is the fixed prefix of a payload: send time (8), message
// index (4), run id (8).
const payloadHeader = 20

// EnsureDefaults fills zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	sc := scenarios[o.Scenario]
	if o.RoomSize <= 0 {
		o.RoomSize = 10
	}
	if sc.rooms == roomPair {
		o.RoomSize = 2
	}
	if o.RemoteWait <= 0 {
		o.RemoteWait = 30 * time.Second
	}
	if o.Workers <= 0 && o.Conns > 0 && o.RemoteWorkers <= 0 {
		o.Workers = (o.Conns + ConnsPerWorker - 1) / ConnsPerWorker
		if sc.rooms != roomNone && o.Workers > o.Conns/o.RoomSize {
			o.Workers = max(o.Conns/o.RoomSize, 1)
		}
	}
	if o.Rate <= 0 {
		o.Rate = 2000
	}
	if o.Hold <= 0 {
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
	if o.PublishRate <= 0 {
		o.PublishRate = 2
		if o.Interval > 0 {
			o.PublishRate = float64(time.Second) / float64(o.Interval)
		}
	}
	if o.Messages <= 0 {
		o.Messages = 20
	}
	if o.PayloadSize <= 0 {
		o.PayloadSize = 64
	}
	if o.Channel == "" {
		o.Channel = "loadgen"
	}
	if o.Percent <= 0 {
		o.Percent = 10
		if o.Scenario == ScenarioPresence {
			o.Percent = 5
		}
	}
	if o.Down <= 0 {
		o.Down = 2 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 10 * time.Second
	}
}

// Validate reports the first invalid field, by name.
func (o *Options) Validate() error {
	sc, known := scenarios[o.Scenario]
	switch {
	case !known:
		return fmt.Errorf("loadgen: scenario %q: want one of %s", o.Scenario, strings.Join(Scenarios(), ", "))
	case o.Conns <= 0:
		return errors.New("loadgen: conns must be positive")
	case sc.rooms != roomNone && (o.RoomSize < 2 || o.Conns%o.RoomSize != 0):
		return fmt.Errorf("loadgen: conns %d: want a multiple of the room size %d (at least 2)", o.Conns, o.RoomSize)
	case o.Workers < 0 || o.RemoteWorkers < 0 || o.allWorkers() <= 0 || o.allWorkers() > o.Conns:
		return fmt.Errorf("loadgen: workers %d: want 1..conns (%d)", o.allWorkers(), o.Conns)
	case sc.rooms != roomNone && o.allWorkers() > o.Conns/o.RoomSize:
		return fmt.Errorf("loadgen: workers %d: want at most one per room (%d rooms)", o.allWorkers(), o.Conns/o.RoomSize)
	case o.RemoteWorkers > 0 && o.NATS == "":
		return errors.New("loadgen: remote workers need a NATS URL")
	case sc.rooms != roomNone && o.RoomSize > ConnsPerWorker:
		return fmt.Errorf("loadgen: room size %d: a room lives in one worker, at most %d", o.RoomSize, ConnsPerWorker)
	case o.Rate <= 0:
		return errors.New("loadgen: rate must be positive")
	case o.PublishRate <= 0 || math.IsInf(o.PublishRate, 0) || math.IsNaN(o.PublishRate):
		return errors.New("loadgen: publish rate must be positive")
	case o.PayloadSize < payloadHeader:
		return fmt.Errorf("loadgen: payload %d: want at least %d bytes", o.PayloadSize, payloadHeader)
	case !wire.ValidChannel(o.Channel):
		return fmt.Errorf("loadgen: channel %q is not a valid channel name", o.Channel)
	case o.Percent <= 0 || o.Percent > 100:
		return fmt.Errorf("loadgen: percent %g: want (0, 100]", o.Percent)
	case o.Token != "" && o.Secret != "":
		return errors.New("loadgen: token and secret are exclusive")
	case o.Secret != "" && len(o.Secret) < 32:
		return errors.New("loadgen: secret shorter than 32 bytes")
	case sc.rooms != roomNone && o.Secret == "":
		return fmt.Errorf("loadgen: scenario %s needs a secret: it creates channels for many users", o.Scenario)
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

// allWorkers is the number of local and remote workers.
func (o *Options) allWorkers() int { return o.Workers + o.RemoteWorkers }

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
