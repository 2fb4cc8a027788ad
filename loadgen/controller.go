package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// WorkerArg is the subcommand under which the controller re-executes its
// own binary as a worker; cmd/salam dispatches it to RunWorker.
const WorkerArg = "loadgen-worker"

const (
	progressLineEvery = time.Second
	resultWait        = 30 * time.Second // for workers to close and report
	publisherUser     = "lg-pub"         // the broadcast publisher and channel owner
)

// Run runs the scenario opt describes and returns its report, writing a
// one-line status to progress every second (nil: none). The report is also
// written to opt.ReportFile and its chart to opt.ChartFile when set. When
// ctx ends or a worker fails, the run stops early: Run still closes the
// workers, collects what they measured and returns that partial report
// together with the error.
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
	r := &run{opt: opt, sc: scenarios[opt.Scenario], progress: progress, started: time.Now(),
		fail: make(chan error, 1), ready: make(chan struct{}), done: make(chan struct{}), series: newSeries()}
	r.runID = r.started.UnixNano()
	rep, err := r.execute(ctx)
	if rep != nil && opt.ReportFile != "" {
		if werr := rep.WriteFile(opt.ReportFile); werr != nil {
			err = errors.Join(err, fmt.Errorf("loadgen: report: %w", werr))
		}
	}
	if rep != nil && opt.ChartFile != "" {
		if werr := WriteChart(opt.ChartFile, rep); werr != nil {
			err = errors.Join(err, fmt.Errorf("loadgen: chart: %w", werr))
		}
	}
	return rep, err
}

// run is the controller's state for one Run.
type run struct {
	opt      Options
	sc       scenario
	progress io.Writer
	started  time.Time
	runID    int64
	fail     chan error    // first failure of a worker; buffered
	ready    chan struct{} // closed when every worker is ready
	done     chan struct{} // closed when every worker finished its active phase
	rooms    []string      // room scenarios: the rooms' channels, in user order
	pub      *publishStats // broadcast: set before the workers start
	series   *series
	nc       *nats.Conn // remote workers' transport; nil without them

	mu          sync.Mutex // guards workers' mutable fields, closing, readyClosed and doneCount
	workers     []*workerState
	closing     bool
	readyClosed bool
	doneCount   int
}

// workerLink is the line transport to one worker: a subprocess's stdin
// and stdout, a goroutine's pipes, or NATS subjects (remote.go).
type workerLink struct {
	in   io.WriteCloser // the controller's lines; Close is end of stream
	out  io.Reader      // the worker's lines, until end of stream
	wait func() error   // after out ended: how the worker ended
	kill func()         // last resort
}

// workerState is the controller's view of one worker.
type workerState struct {
	name string      // in messages: "3", or "3 (remote NAME)"
	lw   *lineWriter // to link.in
	link workerLink
	exit chan struct{} // closed when the worker's output ended and it exited

	// Guarded by run.mu.
	last   counters
	ready  bool
	done   bool
	rss    int64
	result *workerMsg
}

func (r *run) execute(ctx context.Context) (*Report, error) {
	o := &r.opt
	rep := &Report{Scenario: o.Scenario, URL: o.URL, Subprotocol: o.Subprotocol, StartedAt: r.started.UTC(),
		Workers: o.allWorkers(), ConnectionsRequested: o.Conns, SeriesLatency: r.sc.latency}
	switch {
	case r.sc.rooms != roomNone:
		rep.Rooms, rep.RoomSize = o.Conns/o.RoomSize, o.RoomSize
		fallthrough
	case r.sc.subscribe:
		rep.PublishRate, rep.PayloadBytes = o.PublishRate, o.PayloadSize
	}
	if pid := o.TargetPID; pid != 0 {
		rss, err := readRSS(pid)
		if err != nil {
			return nil, fmt.Errorf("loadgen: target pid %d: %w", pid, err)
		}
		rep.RSSBeforeBytes = rss
	}
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	var remotes []string
	if o.RemoteWorkers > 0 {
		var err error
		if r.nc, err = nats.Connect(o.NATS, nats.Name("salam-loadgen controller")); err != nil {
			return nil, fmt.Errorf("loadgen: nats %s: %w", o.NATS, err)
		}
		defer r.nc.Close()
		if remotes, err = awaitWorkers(ctx, r.nc, o.RemoteWorkers, o.RemoteWait); err != nil {
			return nil, err
		}
	}
	for i := range o.allWorkers() {
		var remote string
		if i >= o.Workers {
			remote = remotes[i-o.Workers]
		}
		if err := r.startWorker(i, remote); err != nil {
			r.closeWorkers()
			return nil, err
		}
	}
	stopProgress := every(progressLineEvery, func(time.Time) { r.tick(false) })
	err := r.wait(ctx, r.ready, 0)
	if err == nil {
		err = r.active(ctx, rep)
	}
	r.closeWorkers()
	stopProgress()
	if aerr := r.aggregate(rep); aerr != nil {
		err = errors.Join(err, aerr)
	}
	rep.DurationS = time.Since(r.started).Seconds()
	r.tick(true)
	var serr error
	rep.Series, serr = r.series.result()
	return rep, errors.Join(err, serr)
}

// setup creates what the scenario's connections subscribe to, over REST.
func (r *run) setup(ctx context.Context) error {
	o := &r.opt
	if r.sc.rooms == roomNone && !r.sc.subscribe {
		return nil
	}
	rc, err := newRESTClient(o.URL, o.Secret, o.Token, o.ConnectTimeout)
	if err != nil {
		return err
	}
	switch r.sc.rooms {
	case roomPair:
		r.rooms, err = openDMs(ctx, rc, o.Conns/2)
	case roomGroup:
		r.rooms, err = createGroups(ctx, rc, o.Conns/o.RoomSize, o.RoomSize, r.runID)
	default:
		r.pub = newPublishStats(o.Messages, r.series.recordAck)
		err = ensureChannel(ctx, rc, publisherUser, o.Channel)
	}
	return err
}

// active settles, then runs the scenario's active phase while measuring
// the target's CPU and backends.
func (r *run) active(ctx context.Context, rep *Report) error {
	if r.sc.settle || r.opt.TargetPID != 0 {
		if err := r.wait(ctx, nil, r.opt.Settle); err != nil {
			return err
		}
		if err := r.sampleAfter(rep); err != nil {
			return err
		}
	}
	cpu0, err := r.targetCPU()
	if err != nil {
		return err
	}
	mon, err := startMonitor(ctx, r.opt.Redis, r.opt.NATS)
	if err != nil {
		return err
	}
	start := time.Now()
	switch {
	case r.sc.workerPhase:
		err = r.workerPhase(ctx)
	case r.pub != nil:
		err = r.broadcast(ctx)
	default: // idle
		err = r.wait(ctx, nil, r.opt.Hold)
	}
	rep.ActiveS = time.Since(start).Seconds()
	cpu1, cerr := r.targetCPU()
	rep.TargetCPUSeconds = cpu1 - cpu0
	return errors.Join(err, cerr, mon.stop(ctx, rep))
}

// workerPhase starts every worker's active phase and waits until each
// reported done.
func (r *run) workerPhase(ctx context.Context) error {
	r.mu.Lock()
	workers := r.workers
	r.mu.Unlock()
	for _, w := range workers {
		if err := w.lw.write(&command{Cmd: cmdStart}); err != nil {
			return fmt.Errorf("loadgen: start worker %s: %w", w.name, err)
		}
	}
	// Every phase ends by itself; this bound only catches a stuck worker.
	limit := r.opt.Hold + 2*r.opt.Drain + r.opt.Down + 2*r.opt.ConnectTimeout + time.Minute
	if err := r.wait(ctx, r.done, limit); err != nil {
		return err
	}
	select {
	case <-r.done:
		return nil
	default:
		return fmt.Errorf("loadgen: workers did not finish the %s phase within %v", r.opt.Scenario, limit)
	}
}

// broadcast publishes, then waits until every expected delivery was
// counted or the drain time is over.
func (r *run) broadcast(ctx context.Context) error {
	pubDone := make(chan error, 1)
	go func() { pubDone <- publish(ctx, &r.opt, r.runID, r.publisherToken(), r.pub) }()
	var err error
	select {
	case err = <-pubDone:
	case err = <-r.fail:
		<-pubDone
	}
	deadline := time.Now().Add(r.opt.Drain)
	for err == nil && time.Now().Before(deadline) && !r.drained() {
		err = r.wait(ctx, nil, 100*time.Millisecond)
	}
	return err
}

// publisherToken is the token of the broadcast publisher.
func (r *run) publisherToken() string {
	if r.opt.Secret == "" {
		return r.opt.Token
	}
	return mintToken(r.opt.Secret, publisherUser)
}

// drained reports whether the workers counted every expected delivery.
func (r *run) drained() bool {
	_, acked, _ := r.pub.counts()
	c := r.counters()
	return c.Received >= acked*c.Opened
}

// counters sums the workers' latest counters.
func (r *run) counters() counters {
	var c counters
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.workers {
		c.add(&w.last)
	}
	return c
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

// startWorker launches worker i (on NATS when remote names it) and sends
// it its config.
func (r *run) startWorker(i int, remote string) error {
	w := &workerState{name: fmt.Sprint(i), exit: make(chan struct{})}
	var err error
	switch {
	case remote != "":
		w.name = fmt.Sprintf("%d (remote %s)", i, remote)
		w.link, err = remoteLink(r.nc, r.runID, remote)
	case r.opt.InProcess:
		w.link = inProcessLink()
	default:
		w.link, err = subprocessLink(i)
	}
	if err != nil {
		return err
	}
	w.lw = newLineWriter(w.link.in)
	r.mu.Lock()
	r.workers = append(r.workers, w)
	r.mu.Unlock()
	go func() {
		defer close(w.exit)
		out := w.link.out
		err := readLines(out, func(m *workerMsg) error { r.handle(w, m); return nil })
		if err != nil {
			_, _ = io.Copy(io.Discard, out) // let the worker finish writing
		}
		err = errors.Join(err, w.link.wait())
		r.exited(w, err)
	}()
	return w.lw.write(r.workerConfig(i))
}

// inProcessLink runs a worker as a goroutine.
func inProcessLink() workerLink {
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
	return workerLink{in: inW, out: outR, wait: func() error { cancel(); return <-errc }, kill: cancel}
}

// subprocessLink starts "salam loadgen-worker".
func subprocessLink(i int) (workerLink, error) {
	exe, err := os.Executable()
	if err != nil {
		return workerLink{}, fmt.Errorf("loadgen: worker binary: %w", err)
	}
	cmd := exec.Command(exe, WorkerArg)
	cmd.Stderr = os.Stderr
	l := workerLink{wait: cmd.Wait, kill: func() { _ = cmd.Process.Kill() }}
	if l.in, err = cmd.StdinPipe(); err != nil {
		return l, err
	}
	if l.out, err = cmd.StdoutPipe(); err != nil {
		return l, err
	}
	if err := cmd.Start(); err != nil {
		return l, fmt.Errorf("loadgen: start worker %d: %w", i, err)
	}
	return l, nil
}

func (r *run) workerConfig(i int) *workerConfig {
	o := &r.opt
	n := o.allWorkers()
	first, count := splitCount(o.Conns, i, n)
	var rooms []string
	if r.sc.rooms != roomNone {
		firstRoom, k := splitCount(len(r.rooms), i, n)
		rooms = r.rooms[firstRoom : firstRoom+k]
		first, count = firstRoom*o.RoomSize, k*o.RoomSize
	}
	var addrs []string // remote workers bind to their own
	if i < o.Workers {
		addrs = splitAddrs(o.SourceAddrs, i, o.Workers)
	}
	ttl := time.Duration(o.Conns/o.Rate)*time.Second + o.Hold + o.Settle + o.Down +
		time.Duration(float64(o.Messages)/o.PublishRate*float64(time.Second)) + 2*o.Drain + time.Hour
	return &workerConfig{
		Worker:         i,
		Scenario:       o.Scenario,
		URL:            o.URL,
		Conns:          count,
		FirstUser:      first,
		Rate:           float64(o.Rate) / float64(n),
		SourceAddrs:    addrs,
		Token:          o.Token,
		Secret:         o.Secret,
		TokenTTLMs:     ttl.Milliseconds(),
		Subprotocol:    o.Subprotocol,
		ConnectTimeout: o.ConnectTimeout.Milliseconds(),
		Channel:        o.Channel,
		Messages:       o.Messages,
		RunID:          r.runID,
		InProcess:      o.InProcess && i < o.Workers,
		ReadBuffer:     readBufferFor(o),
		Rooms:          rooms,
		RoomSize:       o.RoomSize,
		PublishRate:    o.PublishRate,
		PayloadSize:    o.PayloadSize,
		HoldMs:         o.Hold.Milliseconds(),
		DrainMs:        o.Drain.Milliseconds(),
		DownMs:         o.Down.Milliseconds(),
		Percent:        o.Percent,
	}
}

// readBufferFor sizes the connections' read buffers so that the scenario's
// events decode in place: a larger message would be reassembled in a second
// buffer that stays with the connection. 256 bytes hold a header, a control
// frame and an event of the default 64-byte payload.
func readBufferFor(o *Options) int {
	if sc := scenarios[o.Scenario]; !sc.subscribe && sc.rooms == roomNone {
		return 256
	}
	return max(256, o.PayloadSize+len(o.Channel)+128)
}

// handle applies one message of worker w.
func (r *run) handle(w *workerState, m *workerMsg) {
	if m.LatencyDelta != "" || m.AckDelta != "" {
		r.series.addDeltas(m.LatencyDelta, m.AckDelta)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w.last = m.counters
	switch m.Type {
	case msgReady:
		w.ready, w.rss = true, m.RSSBytes
		if r.all(func(o *workerState) bool { return o.ready }) && !r.readyClosed {
			r.readyClosed = true
			close(r.ready)
		}
	case msgDone:
		if !w.done {
			w.done = true
			if r.doneCount++; r.doneCount == r.opt.allWorkers() {
				close(r.done)
			}
		}
	case msgResult:
		w.result = m
	case msgFatal:
		r.failed(fmt.Errorf("loadgen: worker %s: %s", w.name, m.Error))
	}
}

// all reports whether every worker has started and satisfies f; r.mu held.
func (r *run) all(f func(*workerState) bool) bool {
	for _, o := range r.workers {
		if !f(o) {
			return false
		}
	}
	return len(r.workers) == r.opt.allWorkers()
}

// exited records that worker w's output ended.
func (r *run) exited(w *workerState, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closing { // even with a result: its connections are gone
		if err == nil && w.result == nil {
			err = errors.New("no result")
		} else if err == nil {
			err = errors.New("it closed before the controller asked")
		}
		r.failed(fmt.Errorf("loadgen: worker %s exited early: %w", w.name, err))
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
		_ = w.link.in.Close()
	}
	deadline := time.NewTimer(resultWait)
	defer deadline.Stop()
	for _, w := range workers {
		select {
		case <-w.exit:
		case <-deadline.C:
			deadline.Reset(0)
			fmt.Fprintf(os.Stderr, "loadgen: worker %s did not report within %v; killing it\n", w.name, resultWait)
			w.link.kill()
			<-w.exit
		}
	}
}

// tick takes one sample of the time series and prints its status line.
func (r *run) tick(last bool) {
	c := r.counters()
	if r.pub != nil {
		c.Sent, c.Acked, c.PubFailed = r.pub.counts()
	}
	sm, p99 := r.series.sample(time.Since(r.started), c)
	line := statusLine(sm, r.opt.Conns, r.sc.latency, p99)
	if last {
		line += "  done"
	}
	fmt.Fprintln(r.progress, line)
}
