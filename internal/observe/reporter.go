package observe

import (
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Interval is how often a watched Reporter reports, and how often the
// console renews its interest.
const Interval = time.Second

// interestFor is how long one watch message keeps a Reporter reporting:
// three missed renewals and it stops.
const interestFor = 3 * Interval

// Reporter publishes its process's metrics while a console watches.
type Reporter struct {
	nc       *nats.Conn
	g        prometheus.Gatherer
	node     string
	kind     string
	start    int64
	interval time.Duration
	log      *slog.Logger
	sub      *nats.Subscription

	mu      sync.Mutex
	until   time.Time // report until then
	running bool      // the loop goroutine runs
	stopped bool
	done    chan struct{}
}

// NewReporter builds a Reporter for a node of kind (edge, core, sfu, ...)
// on the registry that /metrics serves.
func NewReporter(nc *nats.Conn, kind string, g prometheus.Gatherer, log *slog.Logger) (*Reporter, error) {
	if nc == nil || g == nil || kind == "" {
		return nil, errors.New("observe: reporter needs a NATS connection, a gatherer and a kind")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reporter{nc: nc, g: g, kind: kind, node: kind + "-" + nuid.Next()[:8], start: time.Now().UnixMilli(),
		interval: Interval, log: log, done: make(chan struct{})}, nil
}

// Node is the node id this Reporter reports under.
func (r *Reporter) Node() string { return r.node }

// Start listens for consoles' interest.
func (r *Reporter) Start() error {
	sub, err := r.nc.Subscribe(WatchSubject, func(*nats.Msg) { r.watched() })
	if err != nil {
		return err
	}
	r.sub = sub
	return r.nc.Flush()
}

// Stop stops listening and reporting.
func (r *Reporter) Stop() {
	if r.sub != nil {
		r.sub.Unsubscribe()
	}
	r.mu.Lock()
	r.stopped = true
	running := r.running
	r.mu.Unlock()
	if running {
		<-r.done
	}
}

// watched extends the interest and starts the loop when it is not running.
func (r *Reporter) watched() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.until = time.Now().Add(interestFor)
	if r.running || r.stopped {
		return
	}
	r.running = true
	r.done = make(chan struct{})
	go r.loop(r.done)
}

// loop reports once per interval until interest lapses.
func (r *Reporter) loop(done chan struct{}) {
	defer close(done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		r.report()
		<-t.C
		r.mu.Lock()
		if r.stopped || time.Now().After(r.until) {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
}

// Snapshot gathers the registry now.
func (r *Reporter) Snapshot() (Snapshot, error) {
	mfs, err := r.g.Gather()
	values, hists := fromFamilies(mfs)
	return Snapshot{Node: r.node, Kind: r.kind, Time: time.Now().UnixMilli(), Start: r.start,
		Values: values, Histograms: hists}, err
}

func (r *Reporter) report() {
	s, err := r.Snapshot()
	if err != nil {
		r.log.Debug("observe: gather", "err", err) // partial: still worth sending
	}
	data, err := json.Marshal(s)
	if err != nil {
		r.log.Warn("observe: encode snapshot", "err", err)
		return
	}
	if err := r.nc.Publish(StatsSubject, data); err != nil {
		r.log.Debug("observe: publish snapshot", "err", err)
	}
}
