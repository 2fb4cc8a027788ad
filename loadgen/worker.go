package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// ClientName is sent in every connect frame.
const ClientName = "salam-loadgen/0.1"

const (
	progressEvery  = 500 * time.Millisecond
	closeWait      = 15 * time.Second // for connection goroutines to end after close
	deliveryShards = 8                // delivery histograms, to spread lock contention
)

// workload is a scenario's part in a worker: what its connections
// subscribe to, what they do with what they read, and its active phase.
type workload interface {
	// channel is the channel connection i subscribes to after connecting,
	// "" for none.
	channel(i int) string
	// connecting is called when connection i is about to send its connect
	// frame, in the ramp or when it is opened again: the moment the server
	// may first see the user.
	connecting(i int, at time.Time)
	// onFrame handles a data frame of connection i. It runs on the
	// pollers' goroutines, concurrently for different connections, and
	// must not block; f is reused after it returns.
	onFrame(i int, f *wire.Frame)
	// run is the active phase, started by the controller's start command
	// once every worker is ready. It returns when the phase is over or ctx
	// ends, after every goroutine it started has ended.
	run(ctx context.Context)
	// result adds the scenario's figures to res, after every connection
	// closed and every latency was flushed.
	result(res *workerResult)
}

// RunWorker is the body of a worker process ("salam loadgen-worker"): it
// reads its config line from in, opens and holds its connections, reports on
// out, runs the active phase on a start command, and on a close command, on
// EOF of in or when ctx ends closes them, writes its result line and returns.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	return runWorker(ctx, in, out, nil)
}

// runWorker is RunWorker binding to addrs, when set, instead of the
// config's source addresses.
func runWorker(ctx context.Context, in io.Reader, out io.Writer, addrs []string) error {
	lw := newLineWriter(out)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var cfg workerConfig
	if !sc.Scan() {
		return errors.New("loadgen worker: no config on stdin")
	}
	if err := json.Unmarshal(sc.Bytes(), &cfg); err != nil {
		return fatal(lw, cfg.Worker, fmt.Errorf("loadgen worker: config: %w", err))
	}
	if len(addrs) > 0 {
		cfg.SourceAddrs = addrs
	}
	w, err := newWorker(cfg, lw)
	if err != nil {
		return fatal(lw, cfg.Worker, err)
	}
	closeReq, startReq := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(closeReq)
		started := false
		for sc.Scan() {
			var c command
			if json.Unmarshal(sc.Bytes(), &c) != nil {
				continue
			}
			switch {
			case c.Cmd == cmdClose:
				return
			case c.Cmd == cmdStart && !started:
				started = true
				close(startReq)
			}
		}
	}()

	stopPollers := w.startPollers()
	defer stopPollers()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	stopProgress := every(progressEvery, func(time.Time) { _ = w.out.write(w.progress()) })
	rampLoopDone, phaseDone := make(chan struct{}), make(chan struct{})
	go w.ramp(runCtx, rampLoopDone)
	go func() {
		defer close(phaseDone)
		select {
		case <-startReq:
		case <-runCtx.Done():
			return
		}
		w.load.run(runCtx)
		if runCtx.Err() == nil {
			_ = w.out.write(w.snapshot(msgDone))
		}
	}()
	select {
	case <-closeReq:
	case <-ctx.Done():
	}
	stopRun()
	<-rampLoopDone // no more ramp attempts start
	<-phaseDone    // nor attempts of the active phase: live.Wait may begin
	w.closeAll()
	stopPollers() // no callbacks after this: the counters are final
	stopProgress()
	return w.writeResult()
}

func fatal(lw *lineWriter, worker int, err error) error {
	_ = lw.write(&workerMsg{Type: msgFatal, Worker: worker, Error: err.Error()})
	return err
}

// worker holds one process's share of the connections.
type worker struct {
	cfg     workerConfig
	out     *lineWriter
	addrs   []*net.TCPAddr
	timeout time.Duration
	ttl     time.Duration
	load    workload

	attempted, opened, failed, dropped atomic.Int64
	closed, reopened, unexpected       atomic.Int64

	lats                     []*latencies // every distribution, flushed together
	connectLat, subscribeLat *latencies
	followLatency            string         // report key prefix of the latencies the time series follows
	followDelta, ackDelta    *hdr.Histogram // progress's scratch, owned by whoever writes progress lines

	mu          sync.Mutex // guards the fields below
	closing     bool
	conns       []*wsclient.Conn // by connection index; nil when not open
	errKinds    map[string]int64
	dropKinds   map[string]int64
	otherLogged int

	pollers []*wsclient.Poller // read the open connections; nil: a goroutine each

	setup sync.WaitGroup // one per ramp attempt until it finished connecting
	live  sync.WaitGroup // one per attempt in flight and per reading goroutine
	rssAt atomic.Int64   // own RSS when ready
}

func newWorker(cfg workerConfig, out *lineWriter) (*worker, error) {
	sc, known := scenarios[cfg.Scenario]
	w := &worker{
		cfg:           cfg,
		out:           out,
		timeout:       time.Duration(cfg.ConnectTimeout) * time.Millisecond,
		ttl:           time.Duration(cfg.TokenTTLMs) * time.Millisecond,
		conns:         make([]*wsclient.Conn, cfg.Conns),
		errKinds:      map[string]int64{},
		dropKinds:     map[string]int64{},
		followLatency: strings.TrimSuffix(sc.latency, "_ms"),
		followDelta:   newHist(),
		ackDelta:      newHist(),
	}
	switch {
	case !known:
		return nil, fmt.Errorf("loadgen worker %d: unknown scenario %q", cfg.Worker, cfg.Scenario)
	case cfg.Conns <= 0 || cfg.Rate <= 0 || len(cfg.SourceAddrs) == 0:
		return nil, fmt.Errorf("loadgen worker %d: config needs conns, rate and source addrs", cfg.Worker)
	case sc.rooms != roomNone && (cfg.RoomSize < 2 || len(cfg.Rooms)*cfg.RoomSize != cfg.Conns):
		return nil, fmt.Errorf("loadgen worker %d: %d rooms of %d for %d connections", cfg.Worker, len(cfg.Rooms), cfg.RoomSize, cfg.Conns)
	}
	for _, a := range cfg.SourceAddrs {
		ip := net.ParseIP(a)
		if ip == nil {
			return nil, fmt.Errorf("loadgen worker %d: bad source addr %q", cfg.Worker, a)
		}
		w.addrs = append(w.addrs, &net.TCPAddr{IP: ip})
	}
	if w.timeout <= 0 {
		w.timeout = 10 * time.Second
	}
	if w.ttl < time.Hour {
		w.ttl = time.Hour
	}
	w.connectLat = w.newLatencies("connect_ms", 1)
	if sc.subscribe || sc.rooms != roomNone {
		w.subscribeLat = w.newLatencies("subscribe_ms", 1)
	}
	switch cfg.Scenario {
	case ScenarioIdle:
		w.load = idleLoad{}
	case ScenarioBroadcast, ScenarioFanout:
		w.load = newBroadcastLoad(w)
	case ScenarioDM, ScenarioChat:
		var err error
		if w.load, err = newRoomLoad(w); err != nil {
			return nil, err
		}
	case ScenarioPresence:
		w.load = newPresenceLoad(w)
	case ScenarioReconnect:
		w.load = newReconnectLoad(w)
	}
	return w, nil
}

// newLatencies registers a distribution under its report key.
func (w *worker) newLatencies(name string, shards int) *latencies {
	l := newLatencies(name, shards)
	w.lats = append(w.lats, l)
	return l
}

// ramp starts cfg.Conns connection goroutines at cfg.Rate per second and
// closes loopDone when it starts no more, then reports ready once every
// attempt has finished.
func (w *worker) ramp(ctx context.Context, loopDone chan<- struct{}) {
	if !w.startConns(ctx, loopDone) {
		return
	}
	w.setup.Wait()
	if ctx.Err() != nil {
		return
	}
	if !w.cfg.InProcess {
		// Give the garbage of the ramp (handshake buffers, tokens, dial
		// state) back to the OS: on a box holding a million sockets the
		// memory is better spent in the kernel and the server.
		debug.FreeOSMemory()
		if rss, err := readRSS(os.Getpid()); err == nil {
			w.rssAt.Store(rss)
		}
	}
	m := w.snapshot(msgReady)
	m.RSSBytes = w.rssAt.Load()
	_ = w.out.write(m)
}

// startConns paces the connection goroutines; false means ctx ended first.
func (w *worker) startConns(ctx context.Context, loopDone chan<- struct{}) bool {
	defer close(loopDone)
	return pace(ctx, time.Now(), w.cfg.Rate, w.cfg.Conns, func(i int) {
		w.setup.Add(1)
		w.live.Add(1)
		go w.runConn(ctx, i)
	}) == nil
}

// closeAll closes every connection and waits (bounded) for their
// goroutines; attempts still in flight were cancelled by the caller.
func (w *worker) closeAll() {
	w.mu.Lock()
	w.closing = true
	conns := w.conns
	w.conns = make([]*wsclient.Conn, len(conns))
	w.mu.Unlock()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	done := make(chan struct{})
	go func() {
		w.live.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		fmt.Fprintf(os.Stderr, "loadgen worker %d: connection goroutines still running after %v\n", w.cfg.Worker, closeWait)
	}
}

// countKind counts err under its kind in m (guarded by w.mu), logging the
// first few errors that fit no kind so that they can be given one.
func (w *worker) countKind(m map[string]int64, err error) {
	kind := errorKind(err)
	w.mu.Lock()
	defer w.mu.Unlock()
	m[kind]++
	if kind == "other" || strings.HasSuffix(kind, ":other") {
		if w.otherLogged < 5 {
			w.otherLogged++
			fmt.Fprintf(os.Stderr, "loadgen worker %d: unclassified error: %v\n", w.cfg.Worker, err)
		}
	}
}

// snapshot returns a message of type typ with the current counters.
func (w *worker) snapshot(typ string) *workerMsg {
	m := &workerMsg{Type: typ, Worker: w.cfg.Worker, counters: counters{
		Attempted:  w.attempted.Load(),
		Opened:     w.opened.Load(),
		Failed:     w.failed.Load(),
		Dropped:    w.dropped.Load(),
		Closed:     w.closed.Load(),
		Reopened:   w.reopened.Load(),
		Unexpected: w.unexpected.Load(),
	}}
	if c, ok := w.load.(interface{ counters(*counters) }); ok {
		c.counters(&m.counters)
	}
	return m
}

// progress is a progress line with the latencies recorded since the last.
func (w *worker) progress() *workerMsg {
	follow, ack := w.followDelta, w.ackDelta
	follow.Reset()
	ack.Reset()
	for _, l := range w.lats {
		switch {
		case strings.HasPrefix(l.name, w.followLatency):
			l.flush(follow)
		case l.name == "ack_ms":
			l.flush(ack)
		default:
			l.flush(nil)
		}
	}
	m := w.snapshot(msgProgress)
	m.LatencyDelta, _ = encodeIfAny(follow)
	m.AckDelta, _ = encodeIfAny(ack)
	return m
}

func encodeIfAny(h *hdr.Histogram) (string, error) {
	if h.TotalCount() == 0 {
		return "", nil
	}
	return encodeHist(h)
}

// writeResult sends the final counters and distributions.
func (w *worker) writeResult() error {
	_ = w.out.write(w.progress()) // the last deltas, for the time series
	m := w.snapshot(msgResult)
	m.RSSBytes = w.rssAt.Load()
	res := &workerResult{Hists: map[string]string{}}
	w.mu.Lock()
	res.ErrorsByKind, res.DropsByKind = w.errKinds, w.dropKinds
	w.mu.Unlock()
	w.load.result(res) // may record final latencies
	for _, l := range w.lats {
		s, err := l.encodeTotal()
		if err != nil {
			return fatal(w.out, w.cfg.Worker, err)
		}
		res.Hists[l.name] = s
	}
	m.Result = res
	return w.out.write(m)
}

// idleLoad holds connections and does nothing else.
type idleLoad struct{}

func (idleLoad) channel(int) string        { return "" }
func (idleLoad) connecting(int, time.Time) {}
func (idleLoad) onFrame(int, *wire.Frame)  {}
func (idleLoad) run(context.Context)       {}
func (idleLoad) result(*workerResult)      {}
