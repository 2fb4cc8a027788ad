package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/salamhq/salam/internal/auth"
)

// WorkerArg is the subcommand under which the controller re-executes its
// own binary as a worker; cmd/salam dispatches it to RunWorker.
const WorkerArg = "loadgen-worker"

const (
	progressLineEvery = time.Second
	resultWait        = 30 * time.Second // for workers to close and report
)

// Run runs the scenario opt describes and returns its report, writing a
// one-line status to progress every second (nil: none). The report is also
// written to opt.ReportFile when set. When ctx ends or a worker fails, the
// run stops early: Run still closes the workers, collects what they
// measured and returns that partial report together with the error.
func Run(ctx context.Context, opt Options, progress io.Writer) (*Report, error) {
	opt.EnsureDefaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if err := checkFileLimit(&opt); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = io.Discard
	}
	r := &run{opt: opt, progress: progress, started: time.Now(), fail: make(chan error, 1), ready: make(chan struct{})}
	r.runID = r.started.UnixNano()
	rep, err := r.execute(ctx)
	if rep != nil && opt.ReportFile != "" {
		if werr := rep.WriteFile(opt.ReportFile); werr != nil {
			err = errors.Join(err, fmt.Errorf("loadgen: report: %w", werr))
		}
	}
	return rep, err
}

// run is the controller's state for one Run.
type run struct {
	opt      Options
	progress io.Writer
	started  time.Time
	runID    int64
	fail     chan error    // first failure of a worker; buffered
	ready    chan struct{} // closed when every worker is ready
	pub      *publishStats // fanout: set before publishing starts

	mu          sync.Mutex // guards workers' mutable fields, closing and readyClosed
	workers     []*workerState
	closing     bool
	readyClosed bool
}

// workerState is the controller's view of one worker.
type workerState struct {
	id    int
	lw    *lineWriter    // to the worker's stdin
	stdin io.WriteCloser // closed after the close command
	kill  func()         // last resort
	done  chan struct{}  // closed when the worker's output ended and it exited

	// Guarded by run.mu.
	last   counters
	ready  bool
	rss    int64
	result *workerMsg
}

func (r *run) execute(ctx context.Context) (*Report, error) {
	rep := &Report{Scenario: r.opt.Scenario, URL: r.opt.URL, Subprotocol: r.opt.Subprotocol,
		StartedAt: r.started.UTC(), Workers: r.opt.Workers, ConnectionsRequested: r.opt.Conns}
	if pid := r.opt.TargetPID; pid != 0 {
		rss, err := readRSS(pid)
		if err != nil {
			return nil, fmt.Errorf("loadgen: target pid %d: %w", pid, err)
		}
		rep.RSSBeforeBytes = rss
	}
	if r.opt.Scenario == ScenarioFanout {
		r.pub = newPublishStats(r.opt.Messages)
		if err := ensureChannel(ctx, r.opt.URL, r.publisherToken(), r.opt.Channel); err != nil {
			return nil, err
		}
	}
	for i := range r.opt.Workers {
		if err := r.startWorker(i); err != nil {
			r.closeWorkers()
			return nil, err
		}
	}
	stopProgress := r.printProgress()
	err := r.wait(ctx, r.ready, 0)
	if err == nil {
		switch r.opt.Scenario {
		case ScenarioIdle:
			err = r.idle(ctx, rep)
		case ScenarioFanout:
			err = r.fanout(ctx, rep)
		}
	}
	r.closeWorkers()
	stopProgress()
	if aerr := r.aggregate(rep); aerr != nil {
		err = errors.Join(err, aerr)
	}
	rep.DurationS = time.Since(r.started).Seconds()
	fmt.Fprintln(r.progress, r.statusLine()+"  done")
	return rep, err
}

// idle: settle, sample memory, hold while measuring the server's CPU.
func (r *run) idle(ctx context.Context, rep *Report) error {
	if err := r.wait(ctx, nil, r.opt.Settle); err != nil {
		return err
	}
	if err := r.sampleAfter(rep); err != nil {
		return err
	}
	cpu0, err := r.targetCPU()
	if err != nil {
		return err
	}
	err = r.wait(ctx, nil, r.opt.Hold)
	cpu1, cerr := r.targetCPU()
	rep.TargetCPUSeconds = cpu1 - cpu0
	return errors.Join(err, cerr)
}

// publisherToken is the token of the fanout publisher, user lg-pub.
func (r *run) publisherToken() string {
	if r.opt.Secret == "" {
		return r.opt.Token
	}
	token, _ := auth.MintHS256(r.opt.Secret, "lg-pub", time.Hour, "", "") // the secret was validated with the options
	return token
}

// fanout: publish, then wait until every expected delivery was counted or
// the drain time is over.
func (r *run) fanout(ctx context.Context, rep *Report) error {
	if r.opt.TargetPID != 0 {
		if err := r.wait(ctx, nil, r.opt.Settle); err != nil {
			return err
		}
		if err := r.sampleAfter(rep); err != nil {
			return err
		}
	}
	token := r.publisherToken()
	cpu0, err := r.targetCPU()
	if err != nil {
		return err
	}
	pubDone := make(chan error, 1)
	go func() { pubDone <- publish(ctx, &r.opt, r.runID, token, r.pub) }()
	select {
	case err = <-pubDone:
	case err = <-r.fail:
		<-pubDone
	}
	if err == nil {
		deadline := time.Now().Add(r.opt.Drain)
		for err == nil && time.Now().Before(deadline) && !r.drained() {
			err = r.wait(ctx, nil, 100*time.Millisecond)
		}
	}
	cpu1, cerr := r.targetCPU()
	rep.TargetCPUSeconds = cpu1 - cpu0
	return errors.Join(err, cerr)
}

// drained reports whether the workers counted every expected delivery.
func (r *run) drained() bool {
	_, acked, _ := r.pub.counts()
	r.mu.Lock()
	defer r.mu.Unlock()
	var opened, received int64
	for _, w := range r.workers {
		opened += w.last.Opened
		received += w.last.Received
	}
	return received >= acked*opened
}

// wait returns nil when ch is closed (nil ch: never) or d passes (0:
// never), and an error when ctx ends or a worker fails first.
func (r *run) wait(ctx context.Context, ch <-chan struct{}, d time.Duration) error {
	var after <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		after = t.C
	}
	select {
	case <-ch:
		return nil
	case <-after:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case err := <-r.fail:
		r.fail <- err // keep it for later waits
		return err
	}
}

func (r *run) sampleAfter(rep *Report) error {
	if r.opt.TargetPID == 0 {
		return nil
	}
	rss, err := readRSS(r.opt.TargetPID)
	if err != nil {
		return fmt.Errorf("loadgen: target pid %d: %w", r.opt.TargetPID, err)
	}
	rep.RSSAfterBytes = rss
	return nil
}

func (r *run) targetCPU() (float64, error) {
	if r.opt.TargetPID == 0 {
		return 0, nil
	}
	s, err := readCPU(r.opt.TargetPID)
	if err != nil {
		return 0, fmt.Errorf("loadgen: target pid %d: %w", r.opt.TargetPID, err)
	}
	return s, nil
}

// startWorker launches worker i and sends it its config.
func (r *run) startWorker(i int) error {
	w := &workerState{id: i, done: make(chan struct{})}
	var (
		stdout io.ReadCloser
		wait   func() error
	)
	if r.opt.InProcess {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			err := RunWorker(ctx, inR, outW)
			inR.Close() // later writes of the controller fail instead of blocking
			outW.Close()
			errc <- err
		}()
		stdout, wait, w.stdin, w.kill = outR, func() error { cancel(); return <-errc }, inW, cancel
	} else {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("loadgen: worker binary: %w", err)
		}
		cmd := exec.Command(exe, WorkerArg)
		cmd.Stderr = os.Stderr
		if w.stdin, err = cmd.StdinPipe(); err != nil {
			return err
		}
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("loadgen: start worker %d: %w", i, err)
		}
		wait, w.kill = cmd.Wait, func() { _ = cmd.Process.Kill() }
	}
	w.lw = newLineWriter(w.stdin)
	r.mu.Lock()
	r.workers = append(r.workers, w)
	r.mu.Unlock()
	go func() {
		defer close(w.done)
		err := readLines(stdout, func(m *workerMsg) error { r.handle(w, m); return nil })
		if err != nil {
			_, _ = io.Copy(io.Discard, stdout) // let the worker finish writing
		}
		err = errors.Join(err, wait())
		r.exited(w, err)
	}()
	return w.lw.write(r.workerConfig(i))
}

func (r *run) workerConfig(i int) *workerConfig {
	first, count := splitCount(r.opt.Conns, i, r.opt.Workers)
	ttl := time.Duration(r.opt.Conns/r.opt.Rate)*time.Second + r.opt.Hold + r.opt.Settle +
		time.Duration(r.opt.Messages)*r.opt.Interval + r.opt.Drain + time.Hour
	return &workerConfig{
		Worker:         i,
		Scenario:       r.opt.Scenario,
		URL:            r.opt.URL,
		Conns:          count,
		FirstUser:      first,
		Rate:           float64(r.opt.Rate) / float64(r.opt.Workers),
		SourceAddrs:    splitAddrs(r.opt.SourceAddrs, i, r.opt.Workers),
		Token:          r.opt.Token,
		Secret:         r.opt.Secret,
		TokenTTLMs:     ttl.Milliseconds(),
		Subprotocol:    r.opt.Subprotocol,
		ConnectTimeout: r.opt.ConnectTimeout.Milliseconds(),
		Channel:        r.opt.Channel,
		Messages:       r.opt.Messages,
		RunID:          r.runID,
		InProcess:      r.opt.InProcess,
		ReadBuffer:     readBufferFor(&r.opt),
	}
}

// readBufferFor sizes the connections' read buffers so that the scenario's
// events decode in place: a larger message would be reassembled in a second
// buffer that stays with the connection. 256 bytes hold a header, a control
// frame and an event of the default 64-byte payload.
func readBufferFor(o *Options) int {
	if o.Scenario != ScenarioFanout {
		return 256
	}
	return max(256, o.PayloadSize+len(o.Channel)+128)
}

// handle applies one message of worker w.
func (r *run) handle(w *workerState, m *workerMsg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.last = m.counters
	switch m.Type {
	case msgReady:
		w.ready, w.rss = true, m.RSSBytes
		for _, o := range r.workers {
			if !o.ready {
				return
			}
		}
		if len(r.workers) == r.opt.Workers && !r.readyClosed {
			r.readyClosed = true
			close(r.ready)
		}
	case msgResult:
		w.result = m
	case msgFatal:
		r.failed(fmt.Errorf("loadgen: worker %d: %s", w.id, m.Error))
	}
}

// exited records that worker w's output ended.
func (r *run) exited(w *workerState, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.result == nil && !r.closing {
		if err == nil {
			err = errors.New("no result")
		}
		r.failed(fmt.Errorf("loadgen: worker %d exited early: %w", w.id, err))
	}
}

func (r *run) failed(err error) {
	select {
	case r.fail <- err:
	default: // the first failure is enough
	}
}

// closeWorkers asks every worker to close and report, waits for them (at
// most resultWait) and kills those that do not finish.
func (r *run) closeWorkers() {
	r.mu.Lock()
	r.closing = true
	workers := r.workers
	r.mu.Unlock()
	for _, w := range workers {
		_ = w.lw.write(&command{Cmd: cmdClose})
		_ = w.stdin.Close()
	}
	deadline := time.NewTimer(resultWait)
	defer deadline.Stop()
	for _, w := range workers {
		select {
		case <-w.done:
		case <-deadline.C:
			deadline.Reset(0)
			fmt.Fprintf(os.Stderr, "loadgen: worker %d did not report within %v; killing it\n", w.id, resultWait)
			w.kill()
			<-w.done
		}
	}
}

// printProgress prints statusLine every second until stopped.
func (r *run) printProgress() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(progressLineEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprintln(r.progress, r.statusLine())
			case <-quit:
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}

// statusLine is the one-line live status.
func (r *run) statusLine() string {
	var c counters
	r.mu.Lock()
	for _, w := range r.workers {
		c.Opened += w.last.Opened
		c.Failed += w.last.Failed
		c.Dropped += w.last.Dropped
		c.Received += w.last.Received
	}
	r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "conns %d/%d  err %d  drop %d", c.Opened, r.opt.Conns, c.Failed, c.Dropped)
	if r.pub != nil {
		sent, acked, failed := r.pub.counts()
		fmt.Fprintf(&b, "  msgs %d/%d  acked %d  pub_err %d  recv %d/%d",
			sent, r.opt.Messages, acked, failed, c.Received, acked*c.Opened)
	}
	fmt.Fprintf(&b, "  %.0fs", time.Since(r.started).Seconds())
	return b.String()
}
