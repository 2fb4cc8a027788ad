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
)

// ClientName is sent in every connect frame.
const ClientName = "salam-loadgen/0.1"

const (
	progressEvery  = 500 * time.Millisecond
	closeWait      = 15 * time.Second // for connection goroutines to end after close
	deliveryShards = 8                // delivery histograms, to spread lock contention
)

// RunWorker is the body of a worker process ("salam loadgen-worker"): it
// reads its config line from in, opens and holds its connections, reports on
// out, and on a close command, on EOF of in or when ctx ends closes them,
// writes its result line and returns.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
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
	w, err := newWorker(cfg, lw)
	if err != nil {
		return fatal(lw, cfg.Worker, err)
	}
	closeReq := make(chan struct{})
	go func() {
		defer close(closeReq)
		for sc.Scan() {
			var c command
			if json.Unmarshal(sc.Bytes(), &c) == nil && c.Cmd == cmdClose {
				return
			}
		}
	}()

	stopPollers := w.startPollers()
	defer stopPollers()
	rampCtx, stopRamp := context.WithCancel(ctx)
	defer stopRamp()
	stopProgress := w.reportProgress()
	rampLoopDone := make(chan struct{})
	go w.ramp(rampCtx, rampLoopDone)
	select {
	case <-closeReq:
	case <-ctx.Done():
	}
	stopRamp()
	<-rampLoopDone // no more attempts start: live.Wait may begin
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
	fanout  bool

	attempted, opened, failed, dropped atomic.Int64
	received, unexpected               atomic.Int64
	msgCount, msgLast                  []atomic.Int64 // per message index
	deliveries                         [deliveryShards]struct {
		mu sync.Mutex
		h  *hdr.Histogram
	}

	mu            sync.Mutex // guards the fields below
	closing       bool
	conns         []*wsclient.Conn // by connection index; nil when not open
	errKinds      map[string]int64
	dropKinds     map[string]int64
	connectHist   *hdr.Histogram
	subscribeHist *hdr.Histogram
	otherLogged   int

	pollers []*wsclient.Poller // read the open connections; nil: a goroutine each

	setup sync.WaitGroup // one per attempt until it finished connecting
	live  sync.WaitGroup // one per connection goroutine
	rssAt atomic.Int64   // own RSS when ready
}

func newWorker(cfg workerConfig, out *lineWriter) (*worker, error) {
	w := &worker{
		cfg:           cfg,
		out:           out,
		timeout:       time.Duration(cfg.ConnectTimeout) * time.Millisecond,
		ttl:           time.Duration(cfg.TokenTTLMs) * time.Millisecond,
		fanout:        cfg.Scenario == ScenarioFanout,
		conns:         make([]*wsclient.Conn, cfg.Conns),
		errKinds:      map[string]int64{},
		dropKinds:     map[string]int64{},
		connectHist:   newHist(),
		subscribeHist: newHist(),
	}
	if cfg.Conns <= 0 || cfg.Rate <= 0 || len(cfg.SourceAddrs) == 0 {
		return nil, fmt.Errorf("loadgen worker %d: config needs conns, rate and source addrs", cfg.Worker)
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
	if w.fanout {
		w.msgCount = make([]atomic.Int64, cfg.Messages)
		w.msgLast = make([]atomic.Int64, cfg.Messages)
		for i := range w.deliveries {
			w.deliveries[i].h = newHist()
		}
	}
	return w, nil
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
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := range w.cfg.Conns {
		due := start.Add(time.Duration(float64(i) / w.cfg.Rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return false
			}
		}
		if ctx.Err() != nil {
			return false
		}
		w.setup.Add(1)
		w.live.Add(1)
		go w.runConn(ctx, i)
	}
	return true
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

// countKind counts err under its kind, logging the first few errors that
// fit no kind so that they can be given one.
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

func (w *worker) snapshot(typ string) *workerMsg {
	return &workerMsg{Type: typ, Worker: w.cfg.Worker, counters: counters{
		Attempted:  w.attempted.Load(),
		Opened:     w.opened.Load(),
		Failed:     w.failed.Load(),
		Dropped:    w.dropped.Load(),
		Received:   w.received.Load(),
		Unexpected: w.unexpected.Load(),
	}}
}

// reportProgress writes a progress line every progressEvery until the
// returned function is called.
func (w *worker) reportProgress() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = w.out.write(w.snapshot(msgProgress))
			case <-quit:
				return
			}
		}
	}()
	return func() { close(quit); <-done }
}

// writeResult sends the final counters and distributions.
func (w *worker) writeResult() error {
	m := w.snapshot(msgResult)
	m.RSSBytes = w.rssAt.Load()
	res := &workerResult{}
	var err error
	w.mu.Lock()
	res.ErrorsByKind, res.DropsByKind = w.errKinds, w.dropKinds
	res.ConnectHist, err = encodeHist(w.connectHist)
	if err == nil && w.fanout {
		res.SubscribeHist, err = encodeHist(w.subscribeHist)
	}
	w.mu.Unlock()
	if err == nil && w.fanout {
		all := newHist()
		for i := range w.deliveries {
			s := &w.deliveries[i]
			s.mu.Lock()
			all.Merge(s.h)
			s.mu.Unlock()
		}
		res.DeliveryHist, err = encodeHist(all)
		res.MsgCount = make([]int64, len(w.msgCount))
		res.MsgLast = make([]int64, len(w.msgLast))
		for i := range w.msgCount {
			res.MsgCount[i] = w.msgCount[i].Load()
			res.MsgLast[i] = w.msgLast[i].Load()
		}
	}
	if err != nil {
		return fatal(w.out, w.cfg.Worker, err)
	}
	m.Result = res
	return w.out.write(m)
}
