package edge

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"
	"go.opentelemetry.io/otel/attribute"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// requests sends client frames to core. forward does not block the read
// path: each request is published with a reply subject under one per-edge
// inbox, and the single inbox subscription routes the reply (a wire frame)
// back to the waiting connection with the client's request id. Unanswered
// requests fail with CodeTimeout (see sweep).
type requests struct {
	srv    *Server
	nc     *nats.Conn
	prefix string // "<inbox>."
	next   atomic.Uint64
	sub    *nats.Subscription

	mu      sync.Mutex
	pending map[uint64]pendingRequest
}

type pendingRequest struct {
	c        *conn
	id       uint32 // client request id
	deadline int64  // unix nanos
	started  int64
}

func newRequests(srv *Server, nc *nats.Conn) (*requests, error) {
	r := &requests{srv: srv, nc: nc, prefix: nc.NewInbox() + ".", pending: make(map[uint64]pendingRequest)}
	sub, err := nc.Subscribe(r.prefix+"*", r.onReply)
	if err != nil {
		return nil, err
	}
	sub.SetPendingLimits(-1, 64<<20)
	r.sub = sub
	return r, nil
}

// encode wraps the client frame f in a bus request from c into buf.
func (c *conn) encodeRequest(buf []byte, f *wire.Frame, now int64) []byte {
	return c.encodeTracedRequest(buf, f, now, bus.TraceContext{})
}

// encodeTracedRequest is encodeRequest carrying a trace context.
func (c *conn) encodeTracedRequest(buf []byte, f *wire.Frame, now int64, tc bus.TraceContext) []byte {
	inner := bytebufferpool.Get()
	inner.B = wire.Msgpack.Append(inner.B[:0], f)
	req := bus.Request{User: c.userID, Session: c.session, Received: now, Frame: inner.B, Trace: tc}
	buf = req.AppendMsgpack(buf)
	bytebufferpool.Put(inner)
	return buf
}

// forward sends f to core on subject; the reply goes to c as f's answer.
func (r *requests) forward(c *conn, subject string, f *wire.Frame) {
	r.forwardTrace(c, subject, f, bus.TraceContext{})
}

// forwardTraced is forward for a sampled publish received at received: it
// records the edge's span and carries the trace to core.
func (r *requests) forwardTraced(c *conn, subject string, f *wire.Frame, received int64) {
	now := time.Now()
	tc := r.srv.tracer.Record(bus.TraceContext{}, "edge received", time.Unix(0, received), now,
		attribute.String("channel", f.Channel), attribute.String("msg_id", f.MsgID),
		attribute.String("user", c.userID), attribute.Int("bytes", len(f.Data)))
	tc.Sent = time.Now().UnixNano()
	r.forwardTrace(c, subject, f, tc)
}

func (r *requests) forwardTrace(c *conn, subject string, f *wire.Frame, tc bus.TraceContext) {
	token := r.next.Add(1)
	now := nowNano()
	r.mu.Lock()
	r.pending[token] = pendingRequest{c: c, id: f.ID, deadline: now + int64(r.srv.requestTimeout), started: now}
	r.mu.Unlock()
	buf := bytebufferpool.Get()
	buf.B = c.encodeTracedRequest(buf.B[:0], f, now, tc)
	err := r.nc.PublishRequest(subject, r.prefix+strconv.FormatUint(token, 36), buf.B)
	bytebufferpool.Put(buf)
	if err != nil {
		r.take(token)
		c.writeError(f.ID, wire.CodeUnavailable, "bus unavailable")
	}
}

// call sends f to core on subject and waits for the reply. The read path
// uses it where the answer decides what happens next (subscribe).
func (r *requests) call(c *conn, subject string, f *wire.Frame) (*wire.Frame, error) {
	buf := bytebufferpool.Get()
	defer bytebufferpool.Put(buf)
	buf.B = c.encodeRequest(buf.B[:0], f, nowNano())
	m, err := r.nc.Request(subject, buf.B, r.srv.requestTimeout)
	if err != nil {
		return nil, err
	}
	reply := new(wire.Frame)
	return reply, wire.Msgpack.Decode(m.Data, reply)
}

func (r *requests) take(token uint64) (pendingRequest, bool) {
	r.mu.Lock()
	p, ok := r.pending[token]
	delete(r.pending, token)
	r.mu.Unlock()
	return p, ok
}

func (r *requests) onReply(m *nats.Msg) {
	token, err := strconv.ParseUint(m.Subject[len(r.prefix):], 36, 64)
	if err != nil {
		return
	}
	p, ok := r.take(token)
	if !ok || p.c.isClosed() {
		return // timed out already, or the client left
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" { // NATS: no subscriber on the subject
		p.c.writeError(p.id, wire.CodeUnavailable, "core unavailable")
		return
	}
	r.srv.metrics.requestLatency.Observe(float64(nowNano()-p.started) / 1e9)
	f := framePool.Get().(*wire.Frame)
	defer framePool.Put(f)
	if err := wire.Msgpack.Decode(m.Data, f); err != nil {
		p.c.writeError(p.id, wire.CodeInternal, "bad reply from core")
		return
	}
	f.ID = p.id
	if f.Type == wire.TypeCall && f.CallID != "" {
		p.c.trackCall(f.CallID) // a created call: tell its node when this connection closes
	}
	p.c.writeFrame(f)
}

// expire fails every request past its deadline with CodeTimeout.
func (r *requests) expire(now int64) {
	var late []pendingRequest
	r.mu.Lock()
	for token, p := range r.pending {
		if now > p.deadline {
			late = append(late, p)
			delete(r.pending, token)
		}
	}
	r.mu.Unlock()
	for _, p := range late {
		r.srv.metrics.requestTimeouts.Inc()
		p.c.writeError(p.id, wire.CodeTimeout, "core did not answer in time")
	}
}
