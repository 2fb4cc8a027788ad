package loadgen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// runConn opens connection i and hands it to a poller, or where there is
// none to a fresh goroutine that reads it. Either way the goroutine that
// dialled ends: dialling grows a stack to several KiB, which an idle
// connection should not keep.
func (w *worker) runConn(ctx context.Context, i int) {
	c, err := w.open(ctx, i)
	if err == nil && !w.track(i, c) {
		c.Close()
		err = context.Canceled
	}
	if err == nil && w.pollers != nil {
		if err = w.pollers[i%len(w.pollers)].Add(c, &connHandler{w: w, i: i, c: c}); err != nil {
			w.untrack(i)
			c.Close()
			err = phaseError{"poll", err}
		}
	}
	w.attempted.Add(1)
	if err != nil {
		w.failed.Add(1)
		w.countKind(w.errKinds, err)
		w.setup.Done()
		w.live.Done()
		return
	}
	w.opened.Add(1)
	if w.pollers == nil {
		go w.readConn(i, c) // inherits this goroutine's live count
	} else {
		w.live.Done()
	}
	w.setup.Done()
}

// connHandler receives what a poller reads from connection i.
type connHandler struct {
	w *worker
	i int
	c *wsclient.Conn
}

func (h *connHandler) OnFrame(f *wire.Frame) {
	if f.Type == wire.TypeEvent && h.w.fanout {
		h.w.receive(h.i, f)
	}
}

func (h *connHandler) OnSkip(error) { h.w.unexpected.Add(1) }

func (h *connHandler) OnEnd(err error) { h.w.lost(h.i, h.c, err) }

// lost records that connection i failed, unless the worker closed it.
func (w *worker) lost(i int, c *wsclient.Conn, err error) {
	if w.isClosing() {
		return
	}
	w.dropped.Add(1)
	w.countKind(w.dropKinds, err)
	w.untrack(i)
	c.Close()
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

// readConn reads connection i until it fails.
func (w *worker) readConn(i int, c *wsclient.Conn) {
	defer w.live.Done()
	var f wire.Frame
	for {
		err := c.Read(&f)
		switch {
		case err == nil:
			if f.Type == wire.TypeEvent && w.fanout {
				w.receive(i, &f)
			}
			continue
		case errors.Is(err, wire.ErrMalformed), errors.Is(err, wire.ErrTooLarge), errors.Is(err, wsclient.ErrMessageType):
			w.unexpected.Add(1)
			continue
		}
		w.lost(i, c, err)
		return
	}
}

// open dials, connects and (fanout) subscribes connection i.
func (w *worker) open(ctx context.Context, i int) (*wsclient.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	token := w.cfg.Token
	if w.cfg.Secret != "" {
		var err error
		token, err = auth.MintHS256(w.cfg.Secret, fmt.Sprintf("lg-%d", w.cfg.FirstUser+i), w.ttl, "", "")
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
	if _, err := c.Connect(ctx, ClientName); err != nil {
		c.Close()
		return nil, phaseError{"connect", err}
	}
	connected := time.Now()
	w.mu.Lock()
	recordDuration(w.connectHist, connected.Sub(t0))
	w.mu.Unlock()
	if !w.fanout {
		return c, nil
	}
	if err := c.Subscribe(ctx, w.cfg.Channel); err != nil {
		c.Close()
		return nil, phaseError{"subscribe", err}
	}
	w.mu.Lock()
	recordDuration(w.subscribeHist, time.Since(connected))
	w.mu.Unlock()
	return c, nil
}

// receive counts one event of the fanout channel.
func (w *worker) receive(i int, f *wire.Frame) {
	now := time.Now().UnixNano()
	sent, idx, run, ok := parsePayload(f.Data)
	if f.Channel != w.cfg.Channel || !ok || run != w.cfg.RunID || idx >= uint32(len(w.msgCount)) {
		w.unexpected.Add(1)
		return
	}
	w.received.Add(1)
	w.msgCount[idx].Add(1)
	last := &w.msgLast[idx]
	for old := last.Load(); now > old && !last.CompareAndSwap(old, now); old = last.Load() {
	}
	s := &w.deliveries[i%deliveryShards]
	s.mu.Lock()
	recordDuration(s.h, time.Duration(now-sent))
	s.mu.Unlock()
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

func (w *worker) untrack(i int) {
	w.mu.Lock()
	w.conns[i] = nil
	w.mu.Unlock()
}

func (w *worker) isClosing() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closing
}
