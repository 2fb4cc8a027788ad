package sfu

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// Cascading: a room spread over nodes (core's calls.sfu_room_spread). The
// node core names in bus.Request.Home is the room's home; every other node
// of the room (a leaf) links to it. Nodes link in a star: a leaf links to
// home only, home to every leaf. A link between two nodes is two pion
// peer connections, one per direction, each offered by its sending side
// (so neither side ever answers an offer crossing its own):
//
//   - out sends every track this node holds (its participants' and, at
//     home, the other leaves') to the far node, except those that came
//     from it, each simulcast layer as a track of its own (a down-track
//     pinned to the layer), so that the far node keeps choosing layers per
//     subscriber. Its stream id is the publisher's user id (escaped,
//     downTrack.StreamID), its track id "<mid>~<layer>".
//   - in receives the far node's tracks. Each becomes an ordinary up-track
//     of a stand-in participant (participant.via = the link): no peer
//     connection of its own, never delivered to, never subscribing; its
//     keyframe requests go back over in. So down-tracks, layer choice,
//     NACKs, events and speaker detection work unchanged for local
//     subscribers.
//
// Links are signaled over the bus, on bus.SFUNodeSubject of the far node,
// as bus.Requests from the user relayUser(node) (a control character: no
// real user id has one) carrying wire frames:
//
//	call CallJoin        the sender (a leaf) holds the room: link to it (no
//	                     reply); the only relay frame that makes a room
//	offer                the sender's out offers; the reply is the answer
//	call CallLeft, From  a participant (or stand-in) left the sender's side
//	call CallEnded       the sender dropped the room: drop the link
//	room (event)         a moderation event: deliver it and pass it on
//	room 200, 201, 202   audio levels, state (mode, roles), layers used
//
// Everything runs on the room's goroutine but waiting for an answer, which
// a goroutine counted in Node.wg does before queuing it to the room.

// relayPrefix starts a relay's user id.
const relayPrefix = "\x01sfu:"

// relayTimeout bounds the wait for the far node's answer.
const relayTimeout = 10 * time.Second

// relinkDelay is how long a leaf waits to link to its home again after the
// link dropped (its peer connection failed, an offer was not answered).
const relinkDelay = time.Second

func relayUser(node string) string { return relayPrefix + node }

// relayNode returns the node a relay user id names.
func relayNode(user string) (string, bool) {
	node, ok := strings.CutPrefix(user, relayPrefix)
	return node, ok && bus.ValidNode(node)
}

func relayTrackID(mid string, layer int) string { return mid + "~" + strconv.Itoa(layer) }

func parseRelayTrackID(id string) (mid string, layer int, ok bool) {
	i := strings.LastIndexByte(id, '~')
	if i < 0 {
		return "", 0, false
	}
	layer, err := strconv.Atoi(id[i+1:])
	return id[:i], layer, err == nil && layer >= 0 && layer < maxLayers
}

// link is the room's relay with one other node.
type link struct {
	room *room
	node string
	out  *participant // sends this node's tracks; nil until the first one
	in   *participant // receives the far node's tracks; nil until its first offer
	sent map[relayKey]*downTrack
	said []byte // the last levels frame sent, to send only changes
	want []byte // the last wanted-layers frame sent, likewise
}

// relayLevelsKind is the kind of the room frame carrying a node's audio
// loudness of its publishers (and, at home, the other leaves'): Users and,
// in Data, one byte each (127 - RFC 6464 level, 0 = silence or muted).
// Never delivered to clients.
const relayLevelsKind uint8 = 200

// relayStateKind is the kind of the room frame a node sends a node it
// links to: the room's mode (Limit) and moderator (From), and the role of
// each participant it knows but those of that node (Users, and in Data
// one byte each, the role). A leaf takes the mode from its home; every
// node keeps the roles of the others' participants for their stand-ins.
// Never delivered to clients.
const relayStateKind uint8 = 201

// relayWantKind is the kind of the room frame telling the node a link's
// simulcast tracks come from which of their layers this node uses: Users
// alternates publisher and mid, Data has one bit mask of layers per track.
// The sender pauses the layers nobody wants and resumes one at the far
// node's first keyframe request for it. Never delivered to clients.
const relayWantKind uint8 = 202

type relayKey struct {
	pub, mid string
	layer    int
}

// setHome makes the room a leaf of home ("" or this node: the room's home
// itself), as core's frames say (bus.Request.Home): it links to home at
// once, so that events reach it before any track does. When core moved
// home (the old one died), the link to the old home is dropped: its
// stand-ins leave.
func (r *room) setHome(home string) {
	if home == r.node.cfg.NodeID {
		home = ""
	}
	if home == r.home && (home == "" || r.links[home] != nil) {
		return
	}
	old := r.links[r.home]
	r.home = home
	if home != "" {
		r.link(home)
	}
	if old != nil && old.node != home {
		r.unlink(old, true)
	}
}

// link returns the room's link with node, made now (sending it every
// track it does not have) if there is none.
func (r *room) link(node string) *link {
	if l := r.links[node]; l != nil {
		return l
	}
	l := &link{room: r, node: node, sent: make(map[relayKey]*downTrack)}
	if r.links == nil {
		r.links = make(map[string]*link)
	}
	r.links[node] = l
	r.node.metrics.relays.Inc()
	if node == r.home { // a leaf: home links back (and makes the room if it has none)
		l.send(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallJoin, CallID: r.id})
	}
	l.sendState()
	for _, user := range r.order {
		for _, up := range r.parts[user].published {
			l.sendTrack(up)
		}
	}
	return l
}

// spread reports whether the room has other nodes.
func (r *room) spread() bool { return r.home != "" || len(r.links) > 0 }

// handleRelay takes a frame of the relay of node from.
func (r *room) handleRelay(reply, from string, f *wire.Frame) {
	l := r.links[from]
	switch {
	case l == nil && r.home != "" && from != r.home && (f.Type == wire.TypeOffer || f.Type == wire.TypeCall && f.Kind == wire.CallJoin):
		// A leaf links to its home only (a star); the other node may
		// think this one is still home, or not yet know it is: it drops
		// the link and tries again.
		r.node.reply(reply, errorFrame(f, wire.CodeWrongState, "not the room's home node"))
	case f.Type == wire.TypeOffer:
		l = r.link(from)
		if l.in == nil {
			p, err := l.newPeer(false)
			if err != nil {
				r.node.log.Warn("relay", "room", r.id, "node", from, "err", err)
				r.node.reply(reply, errorFrame(f, wire.CodeInternal, "cannot create the relay"))
				return
			}
			l.in = p
		}
		r.node.reply(reply, l.in.onOffer(f))
	case f.Type == wire.TypeCall && f.Kind == wire.CallJoin:
		r.link(from)
	case l == nil:
	case f.Type == wire.TypeCall && f.Kind == wire.CallLeft:
		if p := r.parts[f.From]; p != nil && p.via == l {
			r.leave(p, false)
		}
	case f.Type == wire.TypeCall && f.Kind == wire.CallEnded:
		r.dropLink(l, false)
	case f.Type == wire.TypeRoom && f.Kind == relayLevelsKind:
		for i, user := range f.Users {
			if p := r.parts[user]; p != nil && p.via == l && i < len(f.Data) {
				p.level = uint64(f.Data[i])
			}
		}
	case f.Type == wire.TypeRoom && f.Kind == relayWantKind:
		l.onWanted(f)
	case f.Type == wire.TypeRoom && f.Kind == relayStateKind:
		r.onState(from, f)
	case f.Type == wire.TypeRoom && relayedEvent(f.Kind):
		if f.Kind == wire.RoomRole {
			r.remoteRole(f.From, f.Limit)
		}
		r.broadcast("", f)
		for _, o := range r.links {
			if o != l {
				o.send(f)
			}
		}
	}
}

// relayedEvent reports whether kind is a room event nodes pass on (those
// room.announce sends); any other room frame of a link is dropped.
func relayedEvent(kind uint8) bool {
	switch kind {
	case wire.RoomHandRaised, wire.RoomHandLowered, wire.RoomMuted, wire.RoomUnmuted, wire.RoomKicked, wire.RoomRole:
		return true
	}
	return false
}

// sendState sends the far node the room's mode and the roles of the
// participants not on it.
func (l *link) sendState() {
	r := l.room
	mode := wire.ModeOpen
	if r.stage {
		mode = wire.ModeStage
	}
	f := &wire.Frame{Type: wire.TypeRoom, Kind: relayStateKind, CallID: r.id, From: r.moderator, Limit: mode}
	for _, user := range r.order {
		if p := r.parts[user]; p.via != l {
			f.Users, f.Data = append(f.Users, user), append(f.Data, byte(p.role))
		}
	}
	l.send(f)
}

// onState takes a linked node's state: its mode when it is home, the
// roles of the participants not here.
func (r *room) onState(from string, f *wire.Frame) {
	for i, user := range f.Users {
		if i < len(f.Data) {
			r.remoteRole(user, uint16(f.Data[i]))
		}
	}
	if from != r.home || f.From == "" {
		return
	}
	r.moderator = f.From
	if stage := f.Limit == wire.ModeStage; stage != r.stage {
		r.setMode(r.visitor(f.From), true, &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetMode, CallID: r.id, Limit: f.Limit})
	}
}

// remoteRole records the role of a participant of another node and gives
// it to its stand-in.
func (r *room) remoteRole(user string, role uint16) {
	p := r.parts[user]
	if (p != nil && p.via == nil) || (role != wire.RoleSpeaker && role != wire.RoleListener) {
		return // a participant here: its role is this node's
	}
	if r.roles == nil {
		r.roles = make(map[string]uint16)
	}
	r.roles[user] = role
	if p != nil {
		r.setRole(p, role)
	}
}

// announce delivers a room event to the room's participants here and
// passes it to the other nodes.
func (r *room) announce(f *wire.Frame) {
	r.broadcast("", f)
	for _, l := range r.links {
		l.send(f)
	}
}

// relayLevels sends each link the loudness of the publishers that did
// not come from it, when it changed (on the speaker tick).
func (r *room) relayLevels(levels map[string]uint64) {
	for _, l := range r.links {
		f := &wire.Frame{Type: wire.TypeRoom, Kind: relayLevelsKind, CallID: r.id}
		for _, user := range r.order {
			if p := r.parts[user]; p.via != l {
				f.Users = append(f.Users, user)
				f.Data = append(f.Data, byte(min(levels[user], 127)))
			}
		}
		said := wire.Msgpack.Append(nil, f)
		if !bytes.Equal(said, l.said) {
			l.said = said
			l.send(f)
		}
	}
}

// relayWanted tells each link which layers of its simulcast tracks this
// node uses (on the speaker tick, when it changed): those its subscribers
// receive or switch to, and those its own links to other nodes still send.
func (r *room) relayWanted() {
	for _, l := range r.links {
		f := &wire.Frame{Type: wire.TypeRoom, Kind: relayWantKind, CallID: r.id}
		for _, user := range r.order {
			p := r.parts[user]
			if p.via != l {
				continue
			}
			for mid, up := range p.published {
				if up.available(1) || up.available(2) {
					f.Users = append(f.Users, user, mid)
					f.Data = append(f.Data, up.wantedLayers())
				}
			}
		}
		want := wire.Msgpack.Append(nil, f)
		if len(f.Data) > 0 && !bytes.Equal(want, l.want) {
			l.want = want
			l.send(f)
		}
	}
}

// wantedLayers returns the bit mask of the layers of up a down-track
// sends or switches to (a relay's: unless paused).
func (up *upTrack) wantedLayers() byte {
	var mask byte
	for _, dt := range *up.downs.Load() {
		if dt.pinned > 0 {
			if !dt.paused.Load() {
				mask |= 1 << (dt.pinned - 1)
			}
			continue
		}
		dt.mu.Lock()
		mask |= 1 << dt.target
		if dt.current >= 0 {
			mask |= 1 << dt.current
		}
		dt.mu.Unlock()
	}
	return mask
}

// onWanted pauses the layers the far node does not use and resumes those
// it does.
func (l *link) onWanted(f *wire.Frame) {
	for i := 0; i+1 < len(f.Users) && i/2 < len(f.Data); i += 2 {
		mask := f.Data[i/2]
		for idx := range maxLayers {
			dt := l.sent[relayKey{f.Users[i], f.Users[i+1], idx}]
			if dt == nil {
				continue
			}
			switch want := mask&(1<<idx) != 0; {
			case want && dt.paused.Load():
				dt.rebase()
				dt.paused.Store(false)
				dt.up.requestKeyframe(idx)
			case !want:
				dt.paused.Store(true)
			}
		}
	}
}

// relayLeft tells the other nodes that p left (all but the one p came from).
func (r *room) relayLeft(p *participant) {
	for _, l := range r.links {
		if l != p.via {
			l.send(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallLeft, CallID: r.id, From: p.user})
		}
	}
}

// dropLink closes l (unlink) and the room if nothing is left.
func (r *room) dropLink(l *link, tell bool) {
	if r.links[l.node] == l {
		r.unlink(l, tell)
		r.maybeClose()
	}
}

// unlink closes l: its stand-ins leave, its peer connections close; the
// far node is told unless it told us.
func (r *room) unlink(l *link, tell bool) {
	if r.links[l.node] != l {
		return
	}
	delete(r.links, l.node)
	r.node.metrics.relays.Dec()
	for _, user := range slices.Clone(r.order) { // leave changes r.order
		if p := r.parts[user]; p != nil && p.via == l {
			r.leave(p, false)
		}
	}
	l.close()
	if tell {
		l.send(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallEnded, CallID: r.id})
	}
	if l.node == r.home && !r.closed { // a leaf lost its home: link again soon
		time.AfterFunc(relinkDelay, func() {
			r.enqueue(func() {
				if !r.closed && r.home == l.node && r.links[l.node] == nil {
					r.link(l.node)
				}
			})
		})
	}
}

func (l *link) close() {
	for key, dt := range l.sent {
		dt.up.removeDown(dt)
		delete(l.sent, key)
	}
	for _, p := range []*participant{l.out, l.in} {
		if p != nil {
			p.close()
		}
	}
}

// newPeer makes one of the link's peer connections: out (sending, it
// offers) or in (receiving, it answers; its tracks make stand-ins).
func (l *link) newPeer(out bool) (*participant, error) {
	r := l.room
	pc, err := r.node.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &participant{room: r, user: relayUser(l.node), pc: pc, relay: l, negotiated: true, role: wire.RoleSpeaker,
		published: make(map[string]*upTrack), subs: make(map[trackKey]*downTrack), unsubscribed: make(map[trackKey]bool)}
	if !out {
		pc.OnTrack(func(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
			r.enqueue(func() { l.onTrack(p, track, recv) })
		})
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			r.enqueue(func() { r.dropLink(l, true) })
		}
	})
	return p, nil
}

// sendTrack sends every layer of up received so far over the link.
func (l *link) sendTrack(up *upTrack) {
	for idx := range maxLayers {
		if up.available(idx) {
			l.sendLayer(up, idx)
		}
	}
}

// sendLayer sends layer idx of up over the link, unless it came from the
// far node or goes already.
func (l *link) sendLayer(up *upTrack, idx int) {
	key := relayKey{up.pub.user, up.mid, idx}
	if up.pub.via == l || up.stopped.Load() || l.sent[key] != nil || up.pub.relay != nil {
		return
	}
	r := l.room
	if l.out == nil {
		p, err := l.newPeer(true)
		if err != nil {
			r.node.log.Warn("relay", "room", r.id, "node", l.node, "err", err)
			return
		}
		l.out = p
	}
	dt := newDownTrack(up, l.out)
	dt.pinned = int8(idx + 1)
	dt.target = idx
	sender, err := l.out.pc.AddTrack(dt)
	if err != nil {
		r.node.log.Warn("relay add track", "room", r.id, "node", l.node, "err", err)
		return
	}
	dt.sender = sender
	l.out.preferREMB(sender, up)
	l.sent[key] = dt
	up.addDown(dt)
	go dt.readRTCP()
	l.out.negotiateSoon()
}

// dropTrack stops sending up over the link.
func (l *link) dropTrack(up *upTrack) {
	for idx := range maxLayers {
		key := relayKey{up.pub.user, up.mid, idx}
		dt := l.sent[key]
		if dt == nil {
			continue
		}
		delete(l.sent, key)
		up.removeDown(dt)
		if err := l.out.pc.RemoveTrack(dt.sender); err != nil {
			l.room.node.log.Debug("relay remove track", "room", l.room.id, "node", l.node, "err", err)
		}
		l.out.negotiateSoon()
	}
}

// relayTrack sends a new track (or a new layer of one) over every link.
func (r *room) relayTrack(up *upTrack) {
	for _, l := range r.links {
		l.sendTrack(up)
	}
}

// relayDrop stops sending up over every link.
func (r *room) relayDrop(up *upTrack) {
	for _, l := range r.links {
		l.dropTrack(up)
	}
}

// onTrack takes a layer the far node relays: a layer of a stand-in's
// up-track.
func (l *link) onTrack(in *participant, track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	r := l.room
	mid, idx, ok := parseRelayTrackID(track.ID())
	user, err := url.PathUnescape(track.StreamID())
	if r.links[l.node] != l || l.in != in { // a track of a link dropped since
		return
	}
	if !ok || err != nil || user == "" {
		return
	}
	p := r.parts[user]
	switch {
	case p != nil && p.via == nil:
		r.node.log.Warn("relayed track of a participant here", "room", r.id, "user", user, "node", l.node)
		return
	case p != nil && p.via != l:
		// The participant moved: core placed it again on the far node
		// (its old node stopped announcing), whose link may still be up
		// and never tell its leave. The newest link wins.
		r.leave(p, false)
		p = nil
	}
	if p == nil {
		p = r.standIn(user, l)
	}
	up := p.published[mid]
	if up == nil {
		up = newUpTrack(p, mid, track, recv)
		p.published[mid] = up
		r.node.metrics.tracks.Inc()
		up.addLayerAt(track, idx)
		r.publish(up)
		return
	}
	up.addLayerAt(track, idx)
	r.relayTrack(up)
}

// standIn adds the stand-in of user, a participant of the far node of l.
func (r *room) standIn(user string, l *link) *participant {
	p := &participant{room: r, user: user, pc: l.in.pc, via: l, role: wire.RoleSpeaker,
		published: make(map[string]*upTrack), subs: make(map[trackKey]*downTrack), unsubscribed: make(map[trackKey]bool)}
	if role, ok := r.roles[user]; ok {
		p.role = role
	} else if r.stage && user != r.moderator {
		p.role = wire.RoleListener
	}
	r.parts[user] = p
	r.order = append(r.order, user)
	return p
}

// moderates reports whether a room request of kind acts on its To (then
// core sends it to To's node, where the requester may be a visitor).
func moderates(kind uint8) bool {
	switch kind {
	case wire.RoomMute, wire.RoomUnmute, wire.RoomKick, wire.RoomSetRole, wire.RoomLowerHand:
		return true
	}
	return false
}

// visitor is who acts in a room request from a participant of another
// node (a moderator's request about a participant here, or the room's
// mode, which core sends where they apply).
func (r *room) visitor(user string) *participant {
	return &participant{room: r, user: user, role: wire.RoleSpeaker, published: make(map[string]*upTrack),
		subs: make(map[trackKey]*downTrack), unsubscribed: make(map[trackKey]bool), closed: true}
}

// send publishes a relay frame to the far node, no reply.
func (l *link) send(f *wire.Frame) {
	req := bus.Request{User: relayUser(l.room.node.cfg.NodeID), Frame: wire.Msgpack.Append(nil, f)}
	if err := l.room.node.nc.Publish(bus.SFUNodeSubject(l.node), req.AppendMsgpack(nil)); err != nil {
		l.room.node.log.Warn("relay send", "room", l.room.id, "node", l.node, "err", err)
	}
}

// sendOffer sends out's offer and queues its answer to the room.
func (l *link) sendOffer(sdp string) {
	r := l.room
	f := &wire.Frame{Type: wire.TypeOffer, Kind: wire.OfferRenegotiate, CallID: r.id, Data: []byte(sdp)}
	req := bus.Request{User: relayUser(r.node.cfg.NodeID), Frame: wire.Msgpack.Append(nil, f)}
	data := req.AppendMsgpack(nil)
	r.node.wg.Add(1)
	go func() {
		defer r.node.wg.Done()
		answer := new(wire.Frame)
		m, err := r.node.nc.Request(bus.SFUNodeSubject(l.node), data, relayTimeout)
		if err == nil {
			err = wire.Msgpack.Decode(m.Data, answer)
		}
		if err == nil && answer.Type != wire.TypeAnswer {
			err = fmt.Errorf("sfu: relay offer refused: %d %s", answer.Code, answer.Reason)
		}
		r.enqueue(func() { l.onAnswer(answer, err) })
	}()
}

func (l *link) onAnswer(answer *wire.Frame, err error) {
	r := l.room
	if r.links[l.node] != l || l.out == nil {
		return
	}
	if err == nil {
		if out := l.out.onAnswer(answer); out.Type == wire.TypeError {
			err = fmt.Errorf("sfu: relay answer: %s", out.Reason)
		}
	}
	if err != nil {
		r.node.log.Warn("relay", "room", r.id, "node", l.node, "err", err)
		r.dropLink(l, true)
	}
}
