package edge

import (
	"sync"

	"github.com/nats-io/nuid"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

var framePool = sync.Pool{New: func() any { return new(wire.Frame) }}

// handleEnvelope runs one client frame through the session state machine.
func (c *conn) handleEnvelope(f *wire.Frame) {
	if c.state.Load() != stateConnected {
		if f.Type != wire.TypeConnect {
			c.writeError(f.ID, wire.CodeNotConnected, "send connect first")
			c.closeWith(wire.CloseNotConnected, "frame before connect")
			return
		}
		c.connect(f)
		return
	}
	switch f.Type {
	case wire.TypeConnect:
		c.writeError(f.ID, wire.CodeAlreadyConnected, "already connected")
	case wire.TypeSubscribe:
		c.subscribe(f)
	case wire.TypeUnsubscribe:
		c.unsubscribe(f)
	case wire.TypePublish:
		c.publish(f)
	case wire.TypePing:
		id := f.ID
		f.Reset() // the request frame becomes its reply: no allocation
		f.Type, f.ID, f.Time = wire.TypePong, id, nowMilli()
		c.writeFrame(f)
	case wire.TypePong:
	default:
		if f.Type.Known() {
			c.writeError(f.ID, wire.CodeBadFrame, "frame type not sent by clients")
			return
		}
		c.writeError(f.ID, wire.CodeUnknownType, "unknown frame type")
	}
}

func (c *conn) connect(f *wire.Frame) {
	cfg := &c.srv.cfg
	c.session = nuid.Next()
	c.state.Store(stateConnected)
	c.writeFrame(&wire.Frame{
		Type:    wire.TypeConnected,
		ID:      f.ID,
		Session: c.session,
		User:    c.userID,
		Time:    nowMilli(),
		Limits: wire.Limits{
			MaxFrame:      uint32(cfg.MaxMessageBytes),
			PublishRate:   uint32(cfg.PublishRate),
			PublishBurst:  uint32(cfg.PublishBurst),
			PingInterval:  uint32(cfg.PingInterval.Seconds()),
			MaxSubscribed: uint32(cfg.MaxSubscriptions),
		},
	})
}

func (c *conn) subscribe(f *wire.Frame) {
	switch {
	case !wire.ValidChannel(f.Channel):
		c.writeError(f.ID, wire.CodeBadChannel, "invalid channel name")
		return
	case c.subs != nil && hasKey(c.subs, f.Channel):
		c.writeError(f.ID, wire.CodeAlreadySubscribed, "already subscribed")
		return
	case len(c.subs) >= c.srv.cfg.MaxSubscriptions:
		c.writeError(f.ID, wire.CodeTooManySubscriptions, "subscription limit reached")
		return
	}
	if err := c.srv.hub.subscribe(c, f.Channel); err != nil {
		c.writeError(f.ID, wire.CodeUnavailable, "bus unavailable")
		return
	}
	if c.subs == nil {
		c.subs = make(map[string]struct{}, 1)
	}
	c.subs[f.Channel] = struct{}{}
	c.writeAck(f.ID)
}

func (c *conn) unsubscribe(f *wire.Frame) {
	if !hasKey(c.subs, f.Channel) {
		c.writeError(f.ID, wire.CodeNotSubscribed, "not subscribed")
		return
	}
	delete(c.subs, f.Channel)
	c.srv.hub.unsubscribe(c, f.Channel)
	c.writeAck(f.ID)
}

func (c *conn) publish(f *wire.Frame) {
	cfg := &c.srv.cfg
	now := nowNano()
	if c.user == nil {
		c.user = c.srv.users.acquire(c.userID)
	}
	if !c.publishes.Allow(now, cfg.PublishRate, cfg.PublishBurst) || !c.user.allowPublish(now, cfg) {
		c.violation(now, f.ID)
		return
	}
	if !wire.ValidChannel(f.Channel) {
		c.writeError(f.ID, wire.CodeBadChannel, "invalid channel name")
		return
	}
	req := bus.Publish{Channel: f.Channel, From: c.userID, MsgID: f.MsgID, Session: c.session, Data: f.Data, Received: now}
	if err := c.srv.requests.publish(c, f.ID, &req); err != nil {
		c.writeError(f.ID, wire.CodeUnavailable, "bus unavailable")
	}
}

func (c *conn) writeError(id uint32, code wire.Code, reason string) {
	f := framePool.Get().(*wire.Frame)
	*f = wire.Frame{Type: wire.TypeError, ID: id, Code: code, Reason: reason}
	c.writeFrame(f)
	framePool.Put(f)
}

func (c *conn) writeAck(id uint32) {
	f := framePool.Get().(*wire.Frame)
	*f = wire.Frame{Type: wire.TypeAck, ID: id}
	c.writeFrame(f)
	framePool.Put(f)
}

func hasKey(m map[string]struct{}, k string) bool {
	_, ok := m[k]
	return ok
}
