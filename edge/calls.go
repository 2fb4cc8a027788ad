package edge

import (
	"slices"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// maxTrackedCalls bounds the calls a connection is remembered to be in: a
// client is in one call at a time, a few while switching.
const maxTrackedCalls = 4

// callFrame forwards a call action, a signaling or a room frame to the core process
// that holds the call (its node, from the call id), or a create to any core
// process. Core checks everything else; the edge only routes.
func (c *conn) callFrame(f *wire.Frame) {
	if f.Type == wire.TypeCall {
		switch {
		case f.Kind == wire.CallCreate:
			if c.checkChannel(f) {
				c.srv.requests.forward(c, bus.CallCreateSubject, f)
			}
			return
		case f.Kind < wire.CallAccept || f.Kind > wire.CallEnd:
			c.writeCallError(f, wire.CodeBadFrame, "unknown call action")
			return
		}
	}
	subject, ok := bus.CallSubject(f.CallID)
	if !ok {
		c.writeCallError(f, wire.CodeCallNotFound, "no such call")
		return
	}
	c.trackCall(f.CallID)
	c.srv.requests.forward(c, subject, f)
}

// trackCall remembers that this connection takes part in call.
func (c *conn) trackCall(call string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.calls, call); i >= 0 {
		c.calls = append(slices.Delete(c.calls, i, i+1), call)
		return
	}
	if len(c.calls) == maxTrackedCalls {
		c.calls = slices.Delete(c.calls, 0, 1)
	}
	c.calls = append(c.calls, call)
}

// leaveCalls tells the node of each call this connection took part in that
// it closed, so that a participant's reconnect grace starts at once.
func (c *conn) leaveCalls() {
	c.mu.Lock()
	calls := c.calls
	c.calls = nil
	c.mu.Unlock()
	for _, call := range calls {
		subject, _ := bus.CallSubject(call)
		f := wire.Frame{Type: wire.TypeCall, Kind: bus.CallGone, CallID: call}
		c.srv.nc.Publish(subject, c.encodeRequest(nil, &f, nowNano()))
	}
}

func (c *conn) writeCallError(req *wire.Frame, code wire.Code, reason string) {
	f := framePool.Get().(*wire.Frame)
	*f = wire.Frame{Type: wire.TypeError, ID: req.ID, Code: code, Reason: reason, CallID: req.CallID}
	c.writeFrame(f)
	framePool.Put(f)
}
