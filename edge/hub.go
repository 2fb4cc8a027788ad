package edge

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"
	"go.opentelemetry.io/otel/attribute"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// hub is the edge's local subscription index. The edge holds one NATS
// subscription per channel that has at least one local subscriber, and fans
// each event out to them, encoding the frame once per codec.
//
// Subscriptions deliver into a few dispatch shards (Go channels, one
// goroutine each) instead of one goroutine per NATS subscription; a channel
// always maps to the same shard, so its events keep their order.
type hub struct {
	srv    *Server
	nc     *nats.Conn
	seed   maphash.Seed
	shards []chan *nats.Msg
	stop   chan struct{}
	done   sync.WaitGroup

	mu       sync.Mutex
	channels map[string]*localChannel
}

type localChannel struct {
	members  map[*conn]struct{}
	snapshot []*conn // members as a slice for fan-out; rebuilt when dirty
	dirty    bool
	sub      *nats.Subscription
	order    order // owned by the channel's dispatch shard
}

const (
	dispatchShards = 8
	shardBuffer    = 8192
	fanoutChunk    = 512 // connections written by one pool task
)

func newHub(srv *Server, nc *nats.Conn) *hub {
	h := &hub{srv: srv, nc: nc, seed: maphash.MakeSeed(), stop: make(chan struct{}),
		channels: make(map[string]*localChannel)}
	for i := 0; i < dispatchShards; i++ {
		ch := make(chan *nats.Msg, shardBuffer)
		h.shards = append(h.shards, ch)
		h.done.Add(1)
		go h.dispatch(ch)
	}
	return h
}

// subscribe adds c to channel's local members. The first local member
// creates the NATS subscription and waits until the server has it, so that
// every event published after the client's ack reaches it.
func (h *hub) subscribe(c *conn, channel string) error {
	h.mu.Lock()
	lc := h.channels[channel]
	created := lc == nil
	if created {
		shard := h.shards[maphash.String(h.seed, channel)%dispatchShards]
		sub, err := h.nc.ChanSubscribe(bus.EventSubject(channel), shard)
		if err != nil {
			h.mu.Unlock()
			return err
		}
		sub.SetPendingLimits(-1, -1)
		lc = &localChannel{members: make(map[*conn]struct{}), sub: sub}
		h.channels[channel] = lc
		h.srv.metrics.channels.Inc()
	}
	lc.members[c] = struct{}{}
	lc.dirty = true
	h.mu.Unlock()
	if created {
		return h.nc.FlushTimeout(h.srv.requestTimeout)
	}
	return nil
}

// unsubscribe removes c from channel; the last local member drops the NATS
// subscription.
func (h *hub) unsubscribe(c *conn, channel string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lc := h.channels[channel]
	if lc == nil {
		return
	}
	delete(lc.members, c)
	lc.dirty = true
	if len(lc.members) == 0 {
		lc.sub.Unsubscribe()
		delete(h.channels, channel)
		h.srv.metrics.channels.Dec()
	}
}

// dispatch runs one shard: it decodes each event, puts new messages in
// sequence order (see order) and fans them out. Channels holding events
// for a missing one are in waiting, checked by a timer armed only then.
func (h *hub) dispatch(in chan *nats.Msg) {
	defer h.done.Done()
	var ev wire.Frame
	wait := int64(h.srv.cfg.ReorderWait)
	period := max(h.srv.cfg.ReorderWait/4, time.Millisecond)
	waiting := make(map[string]*localChannel)
	timer := time.NewTimer(period)
	timer.Stop()
	armed := false
	var d bus.Delivery
	var scratch []*conn
	for {
		select {
		case m := <-in:
			if bus.IsUserSubject(m.Subject) { // a user's own frames (calls), see users.go
				scratch = h.srv.users.deliver(m, &d, scratch)
				continue
			}
			h.handle(m, &ev, waiting)
		case <-timer.C:
			armed = false
			now := nowNano()
			for channel, lc := range waiting {
				if lc.order.due(now, wait) {
					h.srv.metrics.reorderGiveUps.Inc()
					for _, held := range lc.order.release() {
						h.fanoutMsg(channel, held, &ev)
					}
					h.fanoutInOrder(channel, lc, &ev)
				}
				if len(lc.order.held) == 0 {
					delete(waiting, channel)
				}
			}
		case <-h.stop:
			return
		}
		if len(waiting) > 0 && !armed {
			timer.Reset(period)
			armed = true
		}
	}
}

// handle dispatches one event.
func (h *hub) handle(m *nats.Msg, ev *wire.Frame, waiting map[string]*localChannel) {
	channel, ok := bus.EventChannel(m.Subject)
	if !ok || wire.Msgpack.Decode(m.Data, ev) != nil || ev.Channel != channel {
		h.srv.log.Warn("edge: undecodable event", "subject", m.Subject)
		return
	}
	if ev.Type != wire.TypeEvent || ev.Kind != wire.EventMessage || ev.Seq == 0 {
		h.fanout(channel, ev, m.Data)
		return
	}
	lc := h.local(channel)
	if lc == nil {
		return // its last subscriber left
	}
	if !lc.order.admit(ev.Seq, m, nowNano()) {
		if len(lc.order.held) > 0 {
			waiting[channel] = lc
		}
		return
	}
	h.fanoutTraced(channel, m, ev)
	h.fanoutInOrder(channel, lc, ev)
	if len(lc.order.held) == 0 {
		delete(waiting, channel)
	}
}

// fanoutInOrder delivers the held events of channel that are now in order.
func (h *hub) fanoutInOrder(channel string, lc *localChannel, ev *wire.Frame) {
	for m := lc.order.next(); m != nil; m = lc.order.next() {
		h.fanoutMsg(channel, m, ev)
	}
}

// fanoutMsg delivers a held event, decoded again.
func (h *hub) fanoutMsg(channel string, m *nats.Msg, ev *wire.Frame) {
	if wire.Msgpack.Decode(m.Data, ev) == nil {
		h.fanoutTraced(channel, m, ev)
	}
}

// fanoutTraced is fanout of a message event that may carry a trace (a NATS
// header, nil on unsampled ones): the bus hop and the fan-out become spans.
func (h *hub) fanoutTraced(channel string, m *nats.Msg, ev *wire.Frame) {
	if m.Header == nil {
		h.fanout(channel, ev, m.Data)
		return
	}
	tc, traced := bus.TraceFromHeader(m.Header)
	start := time.Now()
	n := h.fanout(channel, ev, m.Data)
	if !traced {
		return
	}
	t := h.srv.tracer
	seq := attribute.Int64("seq", int64(ev.Seq))
	if tc.Sent != 0 {
		t.Record(tc, "bus → edge", time.Unix(0, tc.Sent), start, attribute.String("channel", channel), seq)
	}
	t.Record(tc, "edge fan-out (delivered)", start, time.Now(), attribute.String("channel", channel), seq,
		attribute.Int("subscribers", n))
}

// local returns channel's entry, nil when it has no local subscriber.
func (h *hub) local(channel string) *localChannel {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.channels[channel]
}

// members returns the current local subscribers of channel. The slice is
// only read by the channel's dispatch shard, one event at a time.
func (h *hub) members(channel string) []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	lc := h.channels[channel]
	if lc == nil {
		return nil
	}
	if lc.dirty {
		lc.snapshot = lc.snapshot[:0]
		for c := range lc.members {
			lc.snapshot = append(lc.snapshot, c)
		}
		lc.dirty = false
	}
	return lc.snapshot
}

// fanout writes one event (a wire frame that arrived as msgpack bytes raw)
// to every local subscriber of its channel. The WebSocket frame is built
// once per codec: msgpack subscribers get raw as it came. Chunks of
// subscribers are written in parallel on the worker pool, and fanout returns
// only when all are written, so the next event of the channel cannot
// overtake this one.
func (h *hub) fanout(channel string, ev *wire.Frame, raw []byte) int {
	conns := h.members(channel)
	if len(conns) == 0 {
		return 0
	}
	var frames [2][]byte // msgpack, json; built on first use
	var bufs [2]*bytebufferpool.ByteBuffer
	for _, c := range conns {
		i := 0
		if !c.codec.Binary() {
			i = 1
		}
		if frames[i] != nil {
			continue
		}
		bufs[i] = bytebufferpool.Get()
		if i == 0 {
			bufs[0].B = append(appendFrameHeader(bufs[0].B[:0], ws.OpBinary, len(raw)), raw...)
			frames[0] = bufs[0].B
		} else {
			bufs[1].B, frames[1] = encodeFrame(bufs[1].B, c.codec, ev)
		}
	}
	d := delivery{channel: channel, frames: frames}
	if ev.Type == wire.TypeEvent && ev.Kind == wire.EventMessage {
		d.seq = ev.Seq // new messages are de-duplicated against replays by sequence
	}
	if ev.Type == wire.TypeTyping {
		d.skipUser = ev.From // nobody needs their own typing back
	}
	var wg sync.WaitGroup
	for start := 0; start < len(conns); start += fanoutChunk {
		chunk := conns[start:min(start+fanoutChunk, len(conns))]
		if start+fanoutChunk >= len(conns) {
			d.writeTo(chunk) // the last chunk runs here
			continue
		}
		wg.Add(1)
		h.srv.submitRead(func() { d.writeTo(chunk); wg.Done() })
	}
	wg.Wait()
	if ev.Type == wire.TypeEvent && ev.Kind == wire.EventMemberLeft {
		h.srv.access.forget(channel, ev.From)
		for _, c := range conns { // they were told; now they stop receiving
			if c.userID == ev.From {
				c.dropSubscription(channel)
			}
		}
	}
	for _, b := range bufs {
		if b != nil {
			bytebufferpool.Put(b)
		}
	}
	m := h.srv.metrics
	m.eventsOut.Add(float64(len(conns)))
	if ev.Time > 0 {
		m.deliveryLag.Observe(time.Since(time.UnixMilli(ev.Time)).Seconds())
	}
	return len(conns)
}

// delivery is one event on its way to local subscribers.
type delivery struct {
	channel  string
	frames   [2][]byte // by codec: msgpack, json
	seq      uint64    // message sequence, 0 for events that are not new messages
	skipUser string
}

func (d *delivery) writeTo(conns []*conn) {
	for _, c := range conns {
		if d.skipUser != "" && c.userID == d.skipUser {
			continue
		}
		frame := d.frames[0]
		if !c.codec.Binary() {
			frame = d.frames[1]
		}
		c.deliver(d.channel, d.seq, frame)
	}
}

func (h *hub) close() {
	h.mu.Lock()
	for name, lc := range h.channels {
		lc.sub.Unsubscribe()
		delete(h.channels, name)
	}
	h.mu.Unlock()
	close(h.stop)
	h.done.Wait()
}
