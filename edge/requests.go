package edge

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// requests sends client requests to core without blocking the read path:
// each request is published with a reply subject under one per-edge inbox,
// and the single inbox subscription routes replies back to the waiting
// connection. Unanswered requests fail with CodeTimeout (see sweep).
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

func (r *requests) publish(c *conn, id uint32, p *bus.Publish) error {
	token := r.next.Add(1)
	now := nowNano()
	r.mu.Lock()
	r.pending[token] = pendingRequest{c: c, id: id, deadline: now + int64(r.srv.requestTimeout), started: now}
	r.mu.Unlock()
	buf := bytebufferpool.Get()
	buf.B = p.AppendMsgpack(buf.B[:0])
	err := r.nc.PublishRequest(bus.PublishSubject(p.Channel), r.prefix+strconv.FormatUint(token, 36), buf.B)
	bytebufferpool.Put(buf)
	if err != nil {
		r.take(token)
	}
	return err
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
	r.srv.metrics.publishLatency.Observe(float64(nowNano()-p.started) / 1e9)
	var reply bus.PublishReply
	if err := reply.DecodeMsgpack(m.Data); err != nil {
		p.c.writeError(p.id, wire.CodeInternal, "bad reply from core")
		return
	}
	if reply.Code != 0 {
		p.c.writeError(p.id, reply.Code, reply.Reason)
		return
	}
	f := framePool.Get().(*wire.Frame)
	*f = wire.Frame{Type: wire.TypeAck, ID: p.id, Seq: reply.Seq, Time: reply.Time}
	p.c.writeFrame(f)
	framePool.Put(f)
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
