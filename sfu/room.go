package sfu

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// roomQueue bounds the operations waiting for a room's goroutine.
const roomQueue = 1024

// room is one escalated call on this node. Its goroutine (run) owns every
// field but count and the tracks' forwarding lists: signaling, pion
// callbacks and timers reach it through ops.
type room struct {
	node  *Node
	id    string
	ops   chan func()
	done  chan struct{} // closed when run returns
	count atomic.Int32  // participants, read by the heartbeat

	parts    map[string]*participant // by user id
	order    []string                // user ids in join order
	closed   bool
	speakers []string // the last active speakers announced

	moderator string // the call's owner, as core stamps room requests ("" until one arrives)
	stage     bool   // wire.ModeStage: newcomers but the moderator join as listeners

	home  string            // the room's home node when this node is a leaf of it (relay.go); "" = home or not spread
	links map[string]*link  // relays to the room's other nodes, by node
	roles map[string]uint16 // the roles of other nodes' participants, as they said (relay.go)
}

func newRoom(n *Node, id string) *room {
	return &room{node: n, id: id, ops: make(chan func(), roomQueue), done: make(chan struct{}),
		parts: make(map[string]*participant)}
}

// enqueue hands op to the room's goroutine; false when the queue is full
// or the room closed.
func (r *room) enqueue(op func()) bool {
	select {
	case <-r.done:
		return false
	default:
	}
	select {
	case r.ops <- op:
		return true
	case <-r.done:
		return false
	default:
		return false
	}
}

func (r *room) run() {
	defer r.node.wg.Done()
	defer close(r.done)
	tick := time.NewTicker(r.node.cfg.SpeakerInterval)
	defer tick.Stop()
	for !r.closed {
		select {
		case op := <-r.ops:
			op()
		case <-tick.C:
			r.detectSpeakers()
		}
	}
}

// close ends every participant and the room (and its links).
func (r *room) close() {
	r.closed = true // no maybeClose from the leaves and links dropped here
	for _, user := range slices.Clone(r.order) {
		r.leave(r.parts[user], false)
	}
	for _, l := range r.links {
		r.dropLink(l, true)
	}
	r.node.removeRoom(r)
}

// handle takes one SFU-bound frame: signaling of a participant, a room
// request, or a call frame from core (a participant left, the call ended).
func (r *room) handle(reply string, req *bus.Request, f *wire.Frame) {
	if from, ok := relayNode(req.User); ok {
		r.handleRelay(reply, from, f)
		return
	}
	if f.Type != wire.TypeCall || (f.Kind != wire.CallLeft && f.Kind != wire.CallEnded) {
		// Core's frames say where home is; it moves when home dies. A leave
		// or the end needs no link: linking then would remake home's room.
		r.setHome(req.Home)
	}
	p := r.parts[req.User]
	if p != nil && p.via != nil { // the user's stand-in: it is another node's participant
		switch {
		case f.Type == wire.TypeOffer: // it moved here (any offer: a join must not overwrite the stand-in)
			r.leave(p, false)
		case f.Type == wire.TypeCall && f.Kind == wire.CallEnded:
		case f.Type == wire.TypeCall:
			return // its own node tells its leave
		}
		p = nil
	}
	if p == nil && f.Type == wire.TypeRoom && r.spread() && (f.Kind == wire.RoomSetMode || (f.To != "" && f.To != req.User && moderates(f.Kind))) {
		p = r.visitor(req.User) // a moderator on another node: core sends it where it applies
	}
	if p != nil && p.session != req.Session && f.Type != wire.TypeCall && p.pc != nil {
		if f.Type != wire.TypeOffer || f.Kind != wire.OfferInitial {
			r.node.reply(reply, errorFrame(f, wire.CodeNotInCall, "not this participant's session"))
			return
		}
		r.leave(p, false) // a fresh start from a new session (a resume): replace the old one
		p = nil
	}
	switch f.Type {
	case wire.TypeOffer:
		joined := p == nil
		if joined {
			if r.locals() >= r.node.cfg.MaxParticipants { // stand-ins have no peer connection here
				r.node.reply(reply, errorFrame(f, wire.CodeCallFull, "room is full"))
				r.maybeClose()
				return
			}
			var err error
			if p, err = r.join(req.User, req.Session); err != nil {
				r.node.log.Warn("join", "room", r.id, "err", err)
				r.node.reply(reply, errorFrame(f, wire.CodeInternal, "cannot create the peer connection"))
				r.maybeClose()
				return
			}
		}
		out := p.onOffer(f)
		if joined && out.Type == wire.TypeError { // a first offer that failed leaves nothing behind
			r.leave(p, true)
		}
		r.node.reply(reply, out)
	case wire.TypeAnswer:
		r.node.reply(reply, r.need(p, f, p.onAnswer))
	case wire.TypeCandidate:
		r.node.reply(reply, r.need(p, f, p.onCandidate))
	case wire.TypeEndOfCandidates:
		r.node.reply(reply, r.need(p, f, func(*wire.Frame) *wire.Frame { return ack(f) }))
	case wire.TypeRoom:
		r.node.reply(reply, r.need(p, f, func(f *wire.Frame) *wire.Frame { return r.request(p, req, f) }))
	case wire.TypeCall: // from core
		switch f.Kind {
		case wire.CallLeft:
			if p != nil && (req.Session == "" || p.session == req.Session) {
				r.leave(p, true)
			}
		case wire.CallEnded:
			r.close()
		}
	default:
		r.node.reply(reply, errorFrame(f, wire.CodeBadFrame, "frame type not taken by the SFU"))
	}
}

func (r *room) need(p *participant, f *wire.Frame, fn func(*wire.Frame) *wire.Frame) *wire.Frame {
	if p == nil {
		return errorFrame(f, wire.CodeOutOfOrder, "send an offer to the SFU first")
	}
	return fn(f)
}

func ack(f *wire.Frame) *wire.Frame { return &wire.Frame{Type: wire.TypeAck, CallID: f.CallID} }

// join adds a participant with a new peer connection; it receives every
// track already published once its first negotiation completes.
func (r *room) join(user, session string) (*participant, error) {
	p, err := newParticipant(r, user, session)
	if err != nil {
		return nil, err
	}
	if r.stage && user != r.moderator {
		p.role = wire.RoleListener
		r.node.deliver(user, session, &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomMode, CallID: r.id,
			From: r.moderator, Limit: wire.ModeStage})
	}
	r.parts[user] = p
	r.order = append(r.order, user)
	r.count.Store(int32(r.locals()))
	r.node.metrics.participants.Inc()
	return p, nil
}

// leave removes p: its tracks are unpublished (removed from every
// subscriber by renegotiation), its peer connection closed.
func (r *room) leave(p *participant, closeIfEmpty bool) {
	if p == nil || r.parts[p.user] != p {
		return
	}
	delete(r.parts, p.user)
	r.order = slices.DeleteFunc(r.order, func(u string) bool { return u == p.user })
	if p.via == nil {
		r.count.Store(int32(r.locals()))
		r.node.metrics.participants.Dec()
	}
	for _, up := range p.published {
		r.unpublish(up)
	}
	p.close()
	r.relayLeft(p)
	if closeIfEmpty {
		r.maybeClose()
	}
}

// maybeClose closes the room when no participant of this node is left;
// home waits for its links too (the leaves' participants meet there).
func (r *room) maybeClose() {
	if r.locals() == 0 && !r.closed && (r.home != "" || len(r.links) == 0) {
		r.close()
	}
}

// locals counts the participants of this node (not the stand-ins).
func (r *room) locals() int {
	n := 0
	for _, p := range r.parts {
		if p.via == nil {
			n++
		}
	}
	return n
}

// publish is called when p's first layer of a track arrives: every other
// participant is told and subscribed, unless it unsubscribed or p may not
// speak.
func (r *room) publish(up *upTrack) {
	r.relayTrack(up)
	r.broadcast(up.pub.user, up.publishedEvent())
	if up.pub.role == wire.RoleListener {
		return
	}
	for _, user := range r.order {
		if sub := r.parts[user]; sub != up.pub {
			sub.subscribe(up)
		}
	}
}

// unpublish removes up from every subscriber and tells them.
func (r *room) unpublish(up *upTrack) {
	up.stop()
	r.relayDrop(up)
	for _, user := range r.order {
		if sub := r.parts[user]; sub != up.pub {
			sub.unsubscribe(up.key(), true)
		}
	}
	r.broadcast(up.pub.user, &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomTrackUnpublished, CallID: r.id,
		From: up.pub.user, Mid: up.mid})
}

// broadcast delivers f to every participant but except (and but the
// stand-ins: their own node delivers to them).
func (r *room) broadcast(except string, f *wire.Frame) {
	for _, user := range r.order {
		if p := r.parts[user]; user != except && p.via == nil {
			r.node.deliver(p.user, p.session, f)
		}
	}
}

// track returns the track (publisher, mid), or nil.
func (r *room) track(pub, mid string) *upTrack {
	if p := r.parts[pub]; p != nil {
		return p.published[mid]
	}
	return nil
}

func (up *upTrack) publishedEvent() *wire.Frame {
	return &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomTrackPublished, CallID: up.pub.room.id,
		From: up.pub.user, Mid: up.mid, ContentType: up.codec.MimeType}
}
