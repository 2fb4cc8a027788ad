package edge

import (
	"sync"
	"time"

	"github.com/nats-io/nuid"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

var framePool = sync.Pool{New: func() any { return new(wire.Frame) }}

// typingInterval is the shortest time between two typing starts of one
// connection in one channel that are relayed.
const typingInterval = 2 * time.Second

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
	case wire.TypeTyping:
		c.typing(f)
	case wire.TypeHistory, wire.TypeReceipt:
		if c.checkChannel(f) {
			c.srv.requests.forward(c, bus.RequestSubject(f.Channel), f)
		}
	case wire.TypePresence:
		c.presenceQuery(f)
	case wire.TypeCall, wire.TypeOffer, wire.TypeAnswer, wire.TypeCandidate, wire.TypeEndOfCandidates, wire.TypeRoom:
		c.callFrame(f)
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
	subscribed, err := c.srv.users.join(c)
	if err == nil && subscribed {
		err = c.srv.hub.nc.FlushTimeout(c.srv.requestTimeout)
	}
	if err != nil {
		c.srv.log.Warn("edge: user subscription", "err", err) // calls may not reach this connection
	}
	c.srv.presence.join(c.userID)
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

func (c *conn) checkChannel(f *wire.Frame) bool {
	if !wire.ValidChannel(f.Channel) {
		c.writeError(f.ID, wire.CodeBadChannel, "invalid channel name")
		return false
	}
	return true
}

// subscribe asks core whether the user may read the channel and, with Seq
// set, for the messages missed since. Live events that arrive meanwhile are
// held; the replay is written first, then the held events it does not
// already contain, then the ack: no gap and no duplicate at the switch-over.
func (c *conn) subscribe(f *wire.Frame) {
	if !c.checkChannel(f) {
		return
	}
	c.mu.Lock()
	_, dup := c.subs[f.Channel]
	full := len(c.subs) >= c.srv.cfg.MaxSubscriptions
	if !dup && !full {
		if c.subs == nil {
			c.subs = make(map[string]*subscription, 1)
		}
		c.subs[f.Channel] = &subscription{replayed: f.Seq}
	}
	c.mu.Unlock()
	switch {
	case dup:
		c.writeError(f.ID, wire.CodeAlreadySubscribed, "already subscribed")
		return
	case full:
		c.writeError(f.ID, wire.CodeTooManySubscriptions, "subscription limit reached")
		return
	}
	if err := c.srv.hub.subscribe(c, f.Channel); err != nil {
		c.dropSubscription(f.Channel)
		c.writeError(f.ID, wire.CodeUnavailable, "bus unavailable")
		return
	}
	reply, err := c.askCore(f)
	if err != nil || reply.Type == wire.TypeError {
		c.dropSubscription(f.Channel)
		if err != nil {
			c.srv.log.Debug("subscribe: core did not answer", "channel", f.Channel, "err", err)
			c.writeError(f.ID, wire.CodeUnavailable, "core unavailable")
		} else {
			c.writeError(f.ID, reply.Code, reply.Reason)
		}
		return
	}
	c.mu.Lock()
	sub := c.subs[f.Channel]
	if sub == nil { // ended meanwhile (the user left the channel)
		c.mu.Unlock()
		c.writeError(f.ID, wire.CodeNotMember, "no longer a member")
		return
	}
	var after []afterWrite
	if reply.Type == wire.TypeMessages {
		ev := framePool.Get().(*wire.Frame)
		for i := range reply.Messages {
			if m := &reply.Messages[i]; m.Seq > sub.replayed {
				messageEvent(ev, f.Channel, m)
				after = append(after, c.writeFrameLocked(ev))
				sub.replayed = m.Seq
			}
		}
		framePool.Put(ev)
	}
	for _, p := range sub.pending {
		if p.seq == 0 || p.seq > sub.replayed {
			after = append(after, c.writeLocked(p.frame))
		}
	}
	sub.pending, sub.ready = nil, true
	c.mu.Unlock()
	for _, a := range after {
		c.finish(a)
	}
	ack := framePool.Get().(*wire.Frame)
	*ack = wire.Frame{Type: wire.TypeAck, ID: f.ID, Channel: f.Channel, More: reply.More}
	c.writeFrame(ack)
	framePool.Put(ack)
}

// askCore asks core whether the user may subscribe (and for the replay of a
// resume); a plain subscribe already allowed recently is answered from the
// edge's access cache.
func (c *conn) askCore(f *wire.Frame) (*wire.Frame, error) {
	now := nowNano()
	if f.Seq == 0 && c.srv.access.ok(f.Channel, c.userID, now) {
		return &wire.Frame{Type: wire.TypeAck}, nil
	}
	reply, err := c.srv.requests.call(c, bus.RequestSubject(f.Channel), f)
	if err == nil && reply.Type != wire.TypeError {
		c.srv.access.allow(f.Channel, c.userID, now)
	}
	return reply, err
}

// messageEvent fills ev with the event of a replayed message.
func messageEvent(ev *wire.Frame, channel string, m *wire.Message) {
	*ev = wire.Frame{Type: wire.TypeEvent, Channel: channel, Seq: m.Seq, From: m.From, MsgID: m.MsgID,
		Time: m.Time, ContentType: m.ContentType, Data: m.Data, ReplyTo: m.ReplyTo, Attachments: m.Attachments}
}

func (c *conn) dropSubscription(channel string) {
	c.mu.Lock()
	delete(c.subs, channel)
	c.mu.Unlock()
	c.srv.hub.unsubscribe(c, channel)
}

func (c *conn) unsubscribe(f *wire.Frame) {
	c.mu.Lock()
	_, ok := c.subs[f.Channel]
	c.mu.Unlock()
	if !ok {
		c.writeError(f.ID, wire.CodeNotSubscribed, "not subscribed")
		return
	}
	c.dropSubscription(f.Channel)
	c.writeAck(f.ID)
}

func (c *conn) publish(f *wire.Frame) {
	cfg := &c.srv.cfg
	now := nowNano()
	if !c.publishes.Allow(now, cfg.PublishRate, cfg.PublishBurst) ||
		!c.srv.limits.allow("user:"+c.userID, cfg.UserPublishRate, cfg.UserPublishBurst) {
		c.violation(now, f.ID)
		return
	}
	if !c.checkChannel(f) {
		return
	}
	if c.admin || c.srv.tracer.Sample() { // unsampled: one random draw, nothing else
		c.srv.requests.forwardTraced(c, bus.PublishSubject(f.Channel), f, now)
		return
	}
	c.srv.requests.forward(c, bus.PublishSubject(f.Channel), f)
}

// presenceQuery forwards a presence query to core, which checks and answers
// it with the rules of its REST twin. Each query costs core a store read per
// user asked, hence a rate of its own.
func (c *conn) presenceQuery(f *wire.Frame) {
	cfg := &c.srv.cfg
	if now := nowNano(); !c.queries.Allow(now, cfg.PresenceQueryRate, cfg.PresenceQueryBurst) {
		c.violation(now, f.ID)
		return
	}
	c.srv.requests.forward(c, bus.PresenceQuerySubject, f)
}

// typing relays a typing frame of a subscribed channel to its other
// subscribers: stops always, starts at most once per user per channel per
// typingInterval. It never reaches core.
func (c *conn) typing(f *wire.Frame) {
	c.mu.Lock()
	_, subscribed := c.subs[f.Channel]
	c.mu.Unlock()
	if !subscribed {
		c.writeError(f.ID, wire.CodeNotSubscribed, "subscribe before typing")
		return
	}
	if c.user == nil {
		c.user = c.srv.users.acquire(c.userID)
	}
	if f.Stop || c.user.relayTyping(f.Channel, nowNano()) {
		out := wire.Frame{Type: wire.TypeTyping, Channel: f.Channel, From: c.userID, Stop: f.Stop, Time: nowMilli()}
		c.srv.nc.Publish(bus.EventSubject(f.Channel), wire.Msgpack.Append(nil, &out))
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
