package loadgen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// userName is the user of connection n of a run (counting over all
// workers): "lg-<n>".
func userName(n int) string { return "lg-" + strconv.Itoa(n) }

// userNumber is the inverse of userName.
func userNumber(user string) (int, bool) {
	s, ok := strings.CutPrefix(user, "lg-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// runConn is the ramp's attempt for connection i. It owns one count of
// w.setup and one of w.live.
func (w *worker) runConn(ctx context.Context, i int) {
	err := w.connect(ctx, i)
	w.attempted.Add(1)
	if err != nil {
		w.failed.Add(1)
		w.countKind(w.errKinds, err)
	} else {
		w.opened.Add(1)
	}
	w.setup.Done()
}

// reopen opens connection i again after the scenario closed it (presence,
// reconnect), counting a failure by kind in kinds (guarded by w.mu). Its
// caller must be the active phase, before run returns.
func (w *worker) reopen(ctx context.Context, i int, kinds map[string]int64) error {
	w.live.Add(1)
	if err := w.connect(ctx, i); err != nil {
		if ctx.Err() == nil { // not the end of the phase
			w.countKind(kinds, err)
		}
		return err
	}
	w.reopened.Add(1)
	return nil
}

// connect opens connection i and hands it to a poller or, where there is
// none, to a fresh goroutine that reads it. Either way the goroutine that
// dialled goes on without it: dialling grows a stack to several KiB, which
// an idle connection should not keep. connect owns one count of w.live,
// which it gives back or passes to the reading goroutine.
func (w *worker) connect(ctx context.Context, i int) error {
	c, err := w.open(ctx, i)
	if err == nil && !w.track(i, c) {
		c.Close()
		err = context.Canceled
	}
	if err != nil {
		w.live.Done()
		return err
	}
	h := &connHandler{w: w, i: i, c: c}
	if w.pollers == nil {
		go w.readConn(h) // inherits the live count
		return nil
	}
	defer w.live.Done()
	if err := w.pollers[i%len(w.pollers)].Add(c, h); err != nil {
		w.untrack(i, c)
		c.Close()
		return phaseError{"poll", err}
	}
	return nil
}

// connHandler receives what a poller reads from connection i.
type connHandler struct {
	w *worker
	i int
	c *wsclient.Conn
}

func (h *connHandler) OnFrame(f *wire.Frame) { h.w.load.onFrame(h.i, f) }

func (h *connHandler) OnSkip(error) { h.w.unexpected.Add(1) }

func (h *connHandler) OnEnd(err error) { h.w.lost(h.i, h.c, err) }

// lost records that connection c (index i) failed, unless the worker or
// the scenario closed it on purpose.
func (w *worker) lost(i int, c *wsclient.Conn, err error) {
	w.mu.Lock()
	mine := !w.closing && w.conns[i] == c
	if mine {
		w.conns[i] = nil
	}
	w.mu.Unlock()
	c.Close()
	if mine {
		w.dropped.Add(1)
		w.countKind(w.dropKinds, err)
	}
}

// startPollers starts one poller per processor, when the platform has
// them; the returned function stops them.
func (w *worker) startPollers() (stop func()) {
	for range runtime.GOMAXPROCS(0) {
		p, err := wsclient.NewPoller()
		if err != nil {
			for _, p := range w.pollers {
				p.Close()
			}
			w.pollers = nil
			fmt.Fprintf(os.Stderr, "loadgen worker %d: %v; using a goroutine per connection\n", w.cfg.Worker, err)
			return func() {}
		}
		w.pollers = append(w.pollers, p)
	}
	var wg sync.WaitGroup
	for _, p := range w.pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "loadgen worker %d: poller: %v\n", w.cfg.Worker, err)
			}
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, p := range w.pollers {
				p.Close()
			}
			wg.Wait()
		})
	}
}

// readConn reads h's connection until it fails, where there is no poller.
func (w *worker) readConn(h *connHandler) {
	defer w.live.Done()
	var f wire.Frame
	for {
		err := h.c.Read(&f)
		switch {
		case err == nil:
			h.OnFrame(&f)
			continue
		case errors.Is(err, wire.ErrMalformed), errors.Is(err, wire.ErrTooLarge), errors.Is(err, wsclient.ErrMessageType):
			h.OnSkip(err)
			continue
		}
		h.OnEnd(err)
		return
	}
}

// open dials, connects and (where the scenario subscribes) subscribes
// connection i.
func (w *worker) open(ctx context.Context, i int) (*wsclient.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	token := w.cfg.Token
	if w.cfg.Secret != "" {
		var err error
		token, err = auth.MintHS256(w.cfg.Secret, userName(w.cfg.FirstUser+i), w.ttl, "", "")
		if err != nil {
			return nil, phaseError{"token", err}
		}
	}
	t0 := time.Now()
	c, err := wsclient.Dial(ctx, w.cfg.URL, wsclient.Options{
		Token:          token,
		Subprotocol:    w.cfg.Subprotocol,
		LocalAddr:      w.addrs[i%len(w.addrs)],
		DialTimeout:    w.timeout,
		ReadBufferSize: w.cfg.ReadBuffer,
	})
	if err != nil {
		return nil, phaseError{"dial", err}
	}
	w.load.connecting(i, time.Now())
	if _, err := c.Connect(ctx, ClientName); err != nil {
		c.Close()
		return nil, phaseError{"connect", err}
	}
	connected := time.Now()
	w.connectLat.record(i, connected.Sub(t0))
	channel := w.load.channel(i)
	if channel == "" {
		return c, nil
	}
	if err := c.Subscribe(ctx, channel); err != nil {
		c.Close()
		return nil, phaseError{"subscribe", err}
	}
	w.subscribeLat.record(i, time.Since(connected))
	return c, nil
}

// track records an open connection unless the worker is closing.
func (w *worker) track(i int, c *wsclient.Conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return false
	}
	w.conns[i] = c
	return true
}

// untrack forgets connection c (index i) unless it was replaced.
func (w *worker) untrack(i int, c *wsclient.Conn) {
	w.mu.Lock()
	if w.conns[i] == c {
		w.conns[i] = nil
	}
	w.mu.Unlock()
}

// conn returns connection i, nil when it is not open.
func (w *worker) conn(i int) *wsclient.Conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conns[i]
}

// closeConn closes connection i on purpose (the scenario's churn or drop);
// false when it was not open.
func (w *worker) closeConn(i int) bool {
	w.mu.Lock()
	c := w.conns[i]
	w.conns[i] = nil
	w.mu.Unlock()
	if c == nil {
		return false
	}
	c.Close()
	w.closed.Add(1)
	return true
}
