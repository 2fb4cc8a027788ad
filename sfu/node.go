package sfu

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/wire"
)

// queueSFU is the queue group of the SFU nodes on bus.SFUSignalSubject.
const queueSFU = "sfu"

// Node is one SFU process: the rooms it holds and their peer connections.
type Node struct {
	cfg     Config
	nc      *nats.Conn
	log     *slog.Logger
	api     *webrtc.API
	mux     *ice.UDPMuxDefault // the one UDP socket of every peer connection (udp_port); nil = a socket each
	batch   *batchConn         // mux's socket when its writes are batched; nil otherwise
	metrics *metrics

	mu     sync.Mutex // guards rooms and closed
	rooms  map[string]*room
	closed bool

	subs []*nats.Subscription
	stop chan struct{}
	wg   sync.WaitGroup // the heartbeat and the rooms' goroutines
}

// New builds a node; cfg must have passed Validate after EnsureDefaults.
// reg may be nil. With cfg.UDPPort it listens on that port at once; Stop
// closes it.
func New(cfg Config, nc *nats.Conn, log *slog.Logger, reg prometheus.Registerer) (*Node, error) {
	mux, batch, err := listenMux(&cfg)
	if err != nil {
		return nil, err
	}
	var udpMux ice.UDPMux // no typed nil: pion tests the interface
	if mux != nil {
		udpMux = mux
	}
	api, err := newAPI(&cfg, udpMux)
	if err != nil {
		if mux != nil {
			_ = mux.Close()
		}
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if batch != nil && reg != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "salam_sfu_udp_send_refused_total",
			Help: "Datagrams of udp_port's batched writes the kernel refused (each skipped, not its batch)."},
			func() float64 { return float64(batch.refused.Load()) }))
	}
	return &Node{cfg: cfg, nc: nc, log: log.With("component", "sfu", "node", cfg.NodeID), api: api, mux: mux,
		batch: batch, metrics: newMetrics(reg), rooms: make(map[string]*room), stop: make(chan struct{})}, nil
}

// ID returns the node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Start subscribes to the node's subjects and starts the heartbeat.
func (n *Node) Start() error {
	for _, s := range []struct{ subject, queue string }{
		{bus.SFUNodeSubject(n.cfg.NodeID), ""},
		{bus.SFUSignalSubject, queueSFU},
	} {
		sub, err := n.nc.QueueSubscribe(s.subject, s.queue, n.onMsg)
		if err != nil {
			n.failStart()
			return err
		}
		n.subs = append(n.subs, sub)
	}
	sub, err := n.nc.Subscribe(observe.InspectRoomsSubject, n.inspectRooms) // every node answers
	if err != nil {
		n.unsubscribe()
		return err
	}
	n.subs = append(n.subs, sub)
	if err := n.nc.Flush(); err != nil {
		n.failStart()
		return err
	}
	n.wg.Add(1)
	go n.heartbeat()
	return nil
}

func (n *Node) unsubscribe() {
	for _, s := range n.subs {
		_ = s.Unsubscribe()
	}
	n.subs = nil
}

// failStart undoes a failed Start: callers do not Stop a node that did
// not start, so its UDP port closes here.
func (n *Node) failStart() {
	n.unsubscribe()
	if n.mux != nil {
		_ = n.mux.Close()
	}
}

// Stop stops taking frames, closes every room (their peer connections
// close: clients see the connection fail), waits for the goroutines and
// closes udp_port.
func (n *Node) Stop() {
	n.unsubscribe()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	rooms := make([]*room, 0, len(n.rooms))
	for _, r := range n.rooms {
		rooms = append(rooms, r)
	}
	n.mu.Unlock()
	n.announce(true)
	close(n.stop)
	for _, r := range rooms {
		select { // waits for room in a full queue: Stop must reach every room
		case r.ops <- r.close:
		case <-r.done:
		}
	}
	n.wg.Wait()
	if n.mux != nil {
		_ = n.mux.Close()
	}
}

func (n *Node) heartbeat() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	n.announce(false)
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			n.announce(false)
		}
	}
}

// announce publishes the node's bus.SFUAnnounce heartbeat.
func (n *Node) announce(stopping bool) {
	a := bus.SFUAnnounce{Node: n.cfg.NodeID, MaxRooms: n.cfg.MaxRooms, Stopping: stopping}
	n.mu.Lock()
	a.Rooms = len(n.rooms)
	for _, r := range n.rooms {
		a.Participants += int(r.count.Load())
	}
	n.mu.Unlock()
	data, _ := json.Marshal(&a)
	if err := n.nc.Publish(bus.SFUAnnounceSubject, data); err != nil {
		n.log.Warn("announce", "err", err)
	}
}

// Rooms returns how many rooms the node holds.
func (n *Node) Rooms() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.rooms)
}

// onMsg takes every SFU-bound frame (nats.go's goroutine): it decodes it
// and queues it to its room's goroutine, creating the room on an offer.
func (n *Node) onMsg(m *nats.Msg) {
	req := new(bus.Request)
	f := new(wire.Frame)
	if err := req.DecodeMsgpack(m.Data); err != nil || wire.Msgpack.Decode(req.Frame, f) != nil {
		n.reply(m.Reply, errorFrame(nil, wire.CodeBadFrame, "malformed request"))
		return
	}
	if _, ok := bus.CallNode(f.CallID); !ok || req.User == "" {
		n.reply(m.Reply, errorFrame(f, wire.CodeCallNotFound, "no such call"))
		return
	}
	// A client's offer creates its room; between nodes (relay.go) only a
	// leaf's CallJoin does: a relay offer to a room that closed must not
	// make an empty one.
	create := f.Type == wire.TypeOffer
	if _, relay := relayNode(req.User); relay {
		create = f.Type == wire.TypeCall && f.Kind == wire.CallJoin
	}
	r, code := n.room(f.CallID, create)
	if r == nil {
		if code != 0 {
			n.reply(m.Reply, errorFrame(f, code, "no room on this SFU node"))
		}
		return
	}
	reply := m.Reply
	if !r.enqueue(func() { r.handle(reply, req, f) }) {
		n.reply(reply, errorFrame(f, wire.CodeUnavailable, "room overloaded; retry"))
	}
}

// room returns call's room, creating it when create is set; nil and the
// code to answer when there is none (0: answer nothing).
func (n *Node) room(call string, create bool) (*room, wire.Code) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r := n.rooms[call]; r != nil {
		return r, 0
	}
	switch {
	case n.closed:
		return nil, wire.CodeUnavailable
	case !create:
		return nil, wire.CodeOutOfOrder
	case len(n.rooms) >= n.cfg.MaxRooms:
		return nil, wire.CodeUnavailable
	}
	r := newRoom(n, call)
	n.rooms[call] = r
	n.metrics.rooms.Inc()
	n.wg.Add(1)
	go r.run()
	return r, 0
}

// removeRoom forgets r once it closed (on r's goroutine).
func (n *Node) removeRoom(r *room) {
	n.mu.Lock()
	if n.rooms[r.id] == r {
		delete(n.rooms, r.id)
		n.metrics.rooms.Dec()
	}
	n.mu.Unlock()
}

// reply answers a request with f.
func (n *Node) reply(subject string, f *wire.Frame) {
	if subject == "" {
		return
	}
	buf := bytebufferpool.Get()
	buf.B = wire.Msgpack.Append(buf.B[:0], f)
	if err := n.nc.Publish(subject, buf.B); err != nil {
		n.log.Warn("reply", "err", err)
	}
	bytebufferpool.Put(buf)
}

// deliver writes f to user's connection session.
func (n *Node) deliver(user, session string, f *wire.Frame) {
	buf := bytebufferpool.Get()
	buf.B = wire.Msgpack.Append(buf.B[:0], f)
	d := bus.Delivery{Session: session, Frame: buf.B}
	out := bytebufferpool.Get()
	out.B = d.AppendMsgpack(out.B[:0])
	if err := n.nc.Publish(bus.UserSubject(user), out.B); err != nil {
		n.log.Warn("deliver", "user", user, "err", err)
	}
	bytebufferpool.Put(buf)
	bytebufferpool.Put(out)
}

func errorFrame(req *wire.Frame, code wire.Code, reason string) *wire.Frame {
	f := &wire.Frame{Type: wire.TypeError, Code: code, Reason: reason}
	if req != nil {
		f.CallID = req.CallID
	}
	return f
}
