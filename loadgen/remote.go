package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Remote workers speak the worker line protocol over NATS: one line per
// message, an empty message for end of stream (the close of stdin, the end
// of stdout).
const (
	// WorkersSubject carries the hellos of idle remote workers.
	WorkersSubject = "salam.loadgen.workers"
	// workerSubjectPrefix + name carries the controller's lines to a worker.
	workerSubjectPrefix = "salam.loadgen.worker."
	// runSubjectPrefix + runID.name carries a worker's lines back; it is
	// the reply subject of the controller's lines.
	runSubjectPrefix = "salam.loadgen.run."
)

var (
	helloEvery = time.Second
	// remoteSilence ends a remote worker's stream: a live worker writes a
	// progress line every progressEvery, and a dead host writes nothing.
	remoteSilence = 10 * time.Second
)

// hello is what an idle remote worker announces on WorkersSubject.
type hello struct {
	Name        string `json:"name"`
	Capacity    int    `json:"capacity"`     // connections it can hold (ConnsPerWorker)
	SourceAddrs int    `json:"source_addrs"` // how many source addresses it binds to
}

// natsLineWriter publishes each complete line written to it as one message
// on subject, with reply as the reply subject; Close sends end of stream.
type natsLineWriter struct {
	nc             *nats.Conn
	subject, reply string
	mu             sync.Mutex
	buf            []byte
}

func (w *natsLineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if i > 0 {
			if err := w.publish(w.buf[:i]); err != nil {
				return 0, err
			}
		}
		w.buf = w.buf[i+1:]
	}
}

func (w *natsLineWriter) publish(data []byte) error {
	return w.nc.PublishMsg(&nats.Msg{Subject: w.subject, Reply: w.reply, Data: bytes.Clone(data)})
}

func (w *natsLineWriter) Close() error {
	if err := w.publish(nil); err != nil {
		return err
	}
	return w.nc.Flush()
}

// lineFeed turns messages into a stream of lines for readLines or
// RunWorker; an empty message ends it.
type lineFeed struct {
	pr *io.PipeReader
	pw *io.PipeWriter
}

func newLineFeed() *lineFeed {
	pr, pw := io.Pipe()
	return &lineFeed{pr: pr, pw: pw}
}

// add writes one message's line; it blocks until the reader took it, which
// keeps the lines in order.
func (f *lineFeed) add(data []byte) {
	if len(data) == 0 {
		f.pw.Close()
		return
	}
	_, _ = f.pw.Write(append(data, '\n'))
}

// awaitWorkers collects the names of n idle remote workers, in the order
// they announced themselves.
func awaitWorkers(ctx context.Context, nc *nats.Conn, n int, timeout time.Duration) ([]string, error) {
	ch := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(WorkersSubject, ch)
	if err != nil {
		return nil, fmt.Errorf("loadgen: nats subscribe: %w", err)
	}
	defer sub.Unsubscribe()
	t := time.NewTimer(timeout)
	defer t.Stop()
	var names []string
	seen := map[string]bool{}
	for len(names) < n {
		select {
		case m := <-ch:
			var h hello
			if json.Unmarshal(m.Data, &h) != nil || h.Name == "" || seen[h.Name] {
				continue
			}
			seen[h.Name] = true
			names = append(names, h.Name)
		case <-t.C:
			return nil, fmt.Errorf("loadgen: %d of %d remote workers announced themselves on %s within %v (%q)",
				len(names), n, WorkersSubject, timeout, names)
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	return names, nil
}

// remoteLink is the line transport to remote worker name for run runID.
func remoteLink(nc *nats.Conn, runID int64, name string) (workerLink, error) {
	feed := newLineFeed()
	runSubject := fmt.Sprintf("%s%d.%s", runSubjectPrefix, runID, name)
	silent := time.AfterFunc(remoteSilence, func() {
		feed.pw.CloseWithError(fmt.Errorf("no line for %v (host or NATS connection lost?)", remoteSilence))
	})
	sub, err := nc.Subscribe(runSubject, func(m *nats.Msg) {
		silent.Reset(remoteSilence)
		feed.add(m.Data)
	})
	if err != nil {
		return workerLink{}, fmt.Errorf("loadgen: nats subscribe: %w", err)
	}
	stop := func() { silent.Stop(); _ = sub.Unsubscribe() }
	return workerLink{
		in:   &natsLineWriter{nc: nc, subject: workerSubjectPrefix + name, reply: runSubject},
		out:  feed.pr,
		wait: func() error { stop(); return nil },
		kill: func() { stop(); feed.pw.CloseWithError(errors.New("killed")) },
	}, nil
}

// RunRemoteWorker serves runs of controllers on other hosts, one at a time,
// until ctx ends: while idle it announces itself as name on WorkersSubject,
// and it runs RunWorker on the lines sent to its subject. Its connections
// bind to sourceAddrs, whatever the controller's were.
func RunRemoteWorker(ctx context.Context, url, name string, sourceAddrs []string) error {
	nc, err := nats.Connect(url, nats.Name("salam-loadgen worker "+name), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("loadgen worker: nats %s: %w", url, err)
	}
	defer nc.Close()
	in := make(chan *nats.Msg, 64)
	if _, err := nc.ChanSubscribe(workerSubjectPrefix+name, in); err != nil {
		return fmt.Errorf("loadgen worker: nats subscribe: %w", err)
	}
	h, _ := json.Marshal(hello{Name: name, Capacity: ConnsPerWorker, SourceAddrs: len(sourceAddrs)})
	tick := time.NewTicker(helloEvery)
	defer tick.Stop()
	var (
		feed      *lineFeed
		reply     string // the current run's subject; "" when idle
		lastReply string // of the last run: its late lines are ignored
		ended     = make(chan struct{}, 1)
	)
	announce := func() { _ = nc.Publish(WorkersSubject, h) }
	announce()
	for {
		select {
		case <-ctx.Done():
			if feed != nil {
				feed.pw.Close()
				<-ended
			}
			return nil
		case <-tick.C:
			if reply == "" {
				announce()
			}
		case <-ended:
			lastReply, reply, feed = reply, "", nil
			announce()
		case m := <-in:
			switch {
			case m.Reply == "" || m.Reply == lastReply:
			case reply == "":
				reply, feed = m.Reply, newLineFeed()
				go serveRun(ctx, nc, feed, m.Reply, sourceAddrs, ended)
				feed.add(m.Data) // in order: the run reads lines as they come
			case m.Reply == reply:
				feed.add(m.Data)
			default:
				// Another controller: tell it, and keep serving the first.
				w := &natsLineWriter{nc: nc, subject: m.Reply}
				_ = newLineWriter(w).write(&workerMsg{Type: msgFatal, Error: "worker " + name + " is busy with another run"})
				_ = w.Close()
			}
		}
	}
}

// serveRun runs one config's worker, replacing its source addresses.
func serveRun(ctx context.Context, nc *nats.Conn, feed *lineFeed, reply string, addrs []string, ended chan<- struct{}) {
	defer func() { ended <- struct{}{} }()
	out := &natsLineWriter{nc: nc, subject: reply}
	if err := runWorker(ctx, feed.pr, out, addrs); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen worker: run %s: %v\n", reply, err)
	}
	feed.pr.Close() // later lines of this run are dropped
	_ = out.Close()
}
