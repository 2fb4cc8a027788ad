package wsclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/salamhq/salam/wire"
)

// reply is what Dispatch hands to a waiting Request.
type reply struct {
	f   *wire.Frame
	err error
}

// Connect sends the connect frame with the given client name (e.g.
// "salam-loadgen/0.1") and waits for connected. An error frame in answer is
// returned as *wire.Error. Like Call, it reads: it must not run concurrently
// with another reader.
func (c *Conn) Connect(ctx context.Context, client string) (*wire.Frame, error) {
	return c.Call(ctx, &wire.Frame{Type: wire.TypeConnect, Client: client}, nil)
}

// Subscribe subscribes to channel and waits for the ack (see Call).
func (c *Conn) Subscribe(ctx context.Context, channel string) error {
	_, err := c.Call(ctx, &wire.Frame{Type: wire.TypeSubscribe, Channel: channel}, nil)
	return err
}

// Call sends f as a request and reads until its reply: the ack, connected,
// messages, pong or error frame carrying f's ID (an ID of 0 in f is replaced by NextID).
// An error frame with f's ID, or with no ID at all (a connection-level
// error), is returned together with a *wire.Error. Other frames that arrive
// meanwhile, such as events of channels subscribed before, are passed to
// other, or dropped when other is nil; the frame passed is reused after
// other returns.
//
// Call is for the synchronous phase of a session, before a Dispatch loop
// starts: it reads, so it must not run concurrently with Read, Dispatch or
// another Call. When ctx ends first, Call returns ctx's error and the
// connection must be closed: a read was interrupted mid-stream.
func (c *Conn) Call(ctx context.Context, f *wire.Frame, other func(*wire.Frame)) (*wire.Frame, error) {
	if f.ID == 0 {
		f.ID = c.NextID()
	}
	if err := c.Send(f); err != nil {
		return nil, err
	}
	stop := c.interruptReads(ctx)
	defer stop()
	r := new(wire.Frame)
	for {
		if err := c.Read(r); err != nil {
			if errors.Is(err, wire.ErrMalformed) || errors.Is(err, wire.ErrTooLarge) || errors.Is(err, ErrMessageType) {
				return nil, err
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctxEnded(ctx) {
				return nil, fmt.Errorf("wsclient: waiting for reply to %s: %w", f.Type, ctxErr(ctx))
			}
			return nil, err
		}
		switch {
		case r.Type == wire.TypeError && (r.ID == f.ID || r.ID == 0):
			return r, &wire.Error{Code: r.Code, Reason: r.Reason}
		case r.ID == f.ID && r.Type != wire.TypeEvent: // ack, connected, messages, pong
			return r, nil
		case other != nil:
			other(r)
		}
	}
}

// ctxEnded reports whether ctx is done or its deadline has passed; the read
// deadline set from it may fire a moment before ctx's own timer.
func ctxEnded(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// ctxErr is ctx's cause, or DeadlineExceeded if only the deadline passed.
func ctxErr(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// interruptReads makes reads fail when ctx ends, through the read deadline,
// until the returned function is called; that function restores the
// deadline and waits for an interruption already under way.
func (c *Conn) interruptReads(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetReadDeadline(dl)
	}
	fired := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		_ = c.nc.SetReadDeadline(aLongTimeAgo)
		close(fired)
	})
	return func() {
		if !stopAfter() {
			<-fired
		}
		_ = c.nc.SetReadDeadline(noDeadline)
	}
}

// Dispatch reads frames until the connection fails and routes them: a reply
// (ack, error, or a call or presence frame) whose ID belongs to a pending
// Request goes to that Request (server events never carry an ID);
// every other frame goes to handle (when non-nil), which must not keep the
// frame after it returns. Dispatch returns the error that ended it, after
// failing every pending and later Request with that error. Read errors that
// leave the connection usable (a frame that does not decode) end Dispatch
// too: a load generator wants to know.
//
// Dispatch owns the read side while it runs; only one may run per Conn.
func (c *Conn) Dispatch(handle func(*wire.Frame)) error {
	var f wire.Frame
	for {
		if err := c.Read(&f); err != nil {
			c.failPending(err)
			return err
		}
		if f.ID != 0 { // a reply: ack, error, or a frame of the request's own type (call, presence…)
			if ch := c.takePending(f.ID); ch != nil {
				r := reply{f: cloneFrame(&f)}
				if f.Type == wire.TypeError {
					r.err = &wire.Error{Code: f.Code, Reason: f.Reason}
				}
				ch <- r // buffered, and only Dispatch sends on it
				continue
			}
		}
		if handle != nil {
			handle(&f)
		}
	}
}

// Request sends f (an ID of 0 is replaced by NextID) and waits for its
// reply, which a concurrently running Dispatch routes here. An
// error frame is returned as the frame plus a *wire.Error. Request is safe
// for concurrent use; without a running Dispatch it waits until ctx ends.
func (c *Conn) Request(ctx context.Context, f *wire.Frame) (*wire.Frame, error) {
	if f.ID == 0 {
		f.ID = c.NextID()
	}
	ch := make(chan reply, 1)
	c.pmu.Lock()
	if err := c.dispatchErr; err != nil {
		c.pmu.Unlock()
		return nil, err
	}
	if _, dup := c.pending[f.ID]; dup {
		c.pmu.Unlock()
		return nil, fmt.Errorf("%w: %d", ErrDuplicateID, f.ID)
	}
	if c.pending == nil {
		c.pending = make(map[uint32]chan reply)
	}
	c.pending[f.ID] = ch
	c.pmu.Unlock()

	if err := c.Send(f); err != nil {
		c.takePending(f.ID)
		return nil, err
	}
	select {
	case r := <-ch:
		return r.f, r.err
	case <-ctx.Done():
		if c.takePending(f.ID) == nil {
			// Dispatch got there first; the reply is in the channel.
			r := <-ch
			return r.f, r.err
		}
		return nil, context.Cause(ctx)
	}
}

// takePending removes and returns the channel waiting for id, or nil.
func (c *Conn) takePending(id uint32) chan reply {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	ch, ok := c.pending[id]
	if ok {
		delete(c.pending, id)
	}
	return ch
}

// failPending records why Dispatch ended and fails all waiting Requests.
func (c *Conn) failPending(err error) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.dispatchErr = err
	for id, ch := range c.pending {
		ch <- reply{err: err}
		delete(c.pending, id)
	}
}

// cloneFrame copies f so that it outlives the reuse of f. Strings from
// Decode are already copies; only Data shares f's buffer.
func cloneFrame(f *wire.Frame) *wire.Frame {
	g := *f
	g.Data = bytes.Clone(f.Data)
	return &g
}
