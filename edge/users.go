package edge

import (
	"hash/maphash"
	"sync"

	"github.com/gobwas/ws"
	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// userState is shared by all of one user's connections on this edge: it
// carries the typing debounce and, while the user has a connected
// connection here, the subscription to the user's bus subject on which
// core sends call events and relayed signaling (bus.UserSubject).
type userState struct {
	id      string
	subject string

	mu       sync.Mutex
	typingAt map[string]int64 // channel → unix nanos of the last typing start relayed

	// guarded by users.mu
	refs  int                // holders: connected connections plus typing/publish users
	conns []*conn            // connected connections, usually one or two
	sub   *nats.Subscription // nil while conns is empty
}

// relayTyping reports whether a typing start in channel is relayed: at most
// one per user per channel per typingInterval on this edge, whatever the
// number of the user's devices.
func (u *userState) relayTyping(channel string, now int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now-u.typingAt[channel] < int64(typingInterval) {
		return false
	}
	if u.typingAt == nil {
		u.typingAt = make(map[string]int64)
	}
	u.typingAt[channel] = now
	return true
}

// users maps user ids to their shared state while they have connections.
// Deliveries arrive on the hub's dispatch shards (the user's subject hashes
// to one shard, so they keep their order) and are written by deliver.
type users struct {
	srv *Server

	mu        sync.Mutex
	m         map[string]*userState
	bySubject map[string]*userState // users with a subscription, by subject
}

func (us *users) acquire(id string) *userState {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.acquireLocked(id)
}

func (us *users) acquireLocked(id string) *userState {
	if us.m == nil {
		us.m = make(map[string]*userState)
		us.bySubject = make(map[string]*userState)
	}
	u := us.m[id]
	if u == nil {
		u = &userState{id: id, subject: bus.UserSubject(id)}
		us.m[id] = u
	}
	u.refs++
	return u
}

func (us *users) release(u *userState) {
	us.mu.Lock()
	defer us.mu.Unlock()
	us.releaseLocked(u)
}

func (us *users) releaseLocked(u *userState) {
	if u.refs--; u.refs == 0 {
		delete(us.m, u.id)
	}
}

// join registers a connection that completed connect; the user's first one
// subscribes to the user's subject and reports subscribed, and the caller
// then flushes before it answers connected: a call rung from another
// process right after must find the subscription, or core takes the user
// for offline and pushes instead.
func (us *users) join(c *conn) (subscribed bool, err error) {
	us.mu.Lock()
	defer us.mu.Unlock()
	u := us.acquireLocked(c.userID)
	u.conns = append(u.conns, c)
	if u.sub != nil {
		return false, nil
	}
	h := us.srv.hub
	sub, err := h.nc.ChanSubscribe(u.subject, h.shards[maphash.String(h.seed, u.subject)%dispatchShards])
	if err != nil {
		return false, err
	}
	sub.SetPendingLimits(-1, -1)
	u.sub = sub
	us.bySubject[u.subject] = u
	return true, nil
}

// leave undoes join; the user's last connection drops the subscription.
func (us *users) leave(c *conn) {
	us.mu.Lock()
	defer us.mu.Unlock()
	u := us.m[c.userID]
	if u == nil {
		return
	}
	for i, x := range u.conns {
		if x == c {
			u.conns[i] = u.conns[len(u.conns)-1]
			u.conns[len(u.conns)-1] = nil
			u.conns = u.conns[:len(u.conns)-1]
			break
		}
	}
	if len(u.conns) == 0 && u.sub != nil {
		u.sub.Unsubscribe()
		u.sub = nil
		delete(us.bySubject, u.subject)
	}
	us.releaseLocked(u)
}

// targets returns the user's connections a delivery is for: the one of
// session, or all when session is empty.
func (us *users) targets(subject, session string, dst []*conn) []*conn {
	us.mu.Lock()
	defer us.mu.Unlock()
	u := us.bySubject[subject]
	if u == nil {
		return dst
	}
	for _, c := range u.conns {
		if session == "" || c.session == session {
			dst = append(dst, c)
		}
	}
	return dst
}

// deliver writes one bus.Delivery to the user's connections it names, and
// answers a delivery sent as a request when it reached one of them (core
// learns from "no responders" that the user, or the session, is gone).
func (us *users) deliver(m *nats.Msg, d *bus.Delivery, scratch []*conn) []*conn {
	if err := d.DecodeMsgpack(m.Data); err != nil {
		us.srv.log.Warn("edge: undecodable delivery", "subject", m.Subject, "err", err)
		return scratch
	}
	conns := us.targets(m.Subject, d.Session, scratch[:0])
	if len(conns) == 0 {
		return conns
	}
	if d.Kind == bus.DeliverFrame {
		us.write(conns, d.Frame)
		if d.Received != 0 {
			us.srv.metrics.signalRelay.Observe(float64(nowNano()-d.Received) / 1e9)
		}
	}
	if m.Reply != "" {
		us.srv.nc.Publish(m.Reply, []byte{1})
	}
	clear(conns)
	return conns
}

// write sends a msgpack wire frame to conns: as it came to msgpack clients,
// re-encoded once for JSON ones.
func (us *users) write(conns []*conn, raw []byte) {
	var json *bytebufferpool.ByteBuffer
	var jsonFrame []byte
	bin := bytebufferpool.Get()
	bin.B = append(appendFrameHeader(bin.B[:0], ws.OpBinary, len(raw)), raw...)
	for _, c := range conns {
		if c.codec.Binary() {
			c.write(bin.B)
			continue
		}
		if json == nil {
			f := framePool.Get().(*wire.Frame)
			if wire.Msgpack.Decode(raw, f) != nil {
				framePool.Put(f)
				break
			}
			json = bytebufferpool.Get()
			json.B, jsonFrame = encodeFrame(json.B, c.codec, f)
			framePool.Put(f)
		}
		c.write(jsonFrame)
	}
	bytebufferpool.Put(bin)
	if json != nil {
		bytebufferpool.Put(json)
	}
}
