package calls

import (
	"slices"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// With Config.SFURoomSpread a room spreads over SFU nodes: the call keeps
// its home node (call.sfuNode, placed as without spreading) and the node of
// each participant (call.sfuParts), picked at the participant's first
// SFU-bound frame. Frames of a participant go to its node; a node other
// than home is told home (bus.Request.Home) and relays the room's media
// through it (package sfu, relay.go).

// nodeOf returns the SFU node user's frames go to, placing user when it has
// none or its node stopped announcing: home while home holds fewer than
// SFURoomSpread of the call's participants, else the other live node of
// the room with the fewest of them and room left, else a new live node,
// else home. "" when no node is known (bus.SFUSignalSubject).
func (s *Service) nodeOf(c *call, user string) string {
	if s.cfg.SFURoomSpread > 0 && c.sfuNode != "" && !s.liveSFU(c.sfuNode) {
		s.rehome(c)
	}
	s.sfuSubject(c) // places home, or moves it off a dead node
	home := c.sfuNode
	if s.cfg.SFURoomSpread == 0 || home == "" {
		return home
	}
	if n := c.sfuParts[user]; n != "" && (n == home || s.liveSFU(n)) {
		return n
	}
	counts := c.nodeCounts()
	node := home
	if counts[home] >= s.cfg.SFURoomSpread {
		node = ""
		for n, k := range counts {
			if n != home && k < s.cfg.SFURoomSpread && s.liveSFU(n) &&
				(node == "" || k < counts[node] || (k == counts[node] && n < node)) {
				node = n
			}
		}
		if node == "" {
			counts[home] = 0 // not a candidate either
			node = s.pickSFUExcept(counts)
		}
		if node == "" {
			node = home
		}
	}
	if c.sfuParts == nil {
		c.sfuParts = make(map[string]string)
	}
	c.sfuParts[user] = node
	return node
}

// rehome moves a spread room's home off its dead node, to the live node of
// the room holding most of its participants, and tells the room's other
// live nodes (a call frame CallEscalated with the new home), which link to
// it; the participants of the dead node are placed again at their next
// frame. With no live node in the room, sfuSubject picks a new one.
func (s *Service) rehome(c *call) {
	counts := c.nodeCounts()
	best := ""
	for n, k := range counts {
		if n != c.sfuNode && s.liveSFU(n) && (best == "" || k > counts[best] || (k == counts[best] && n < best)) {
			best = n
		}
	}
	if best == "" {
		return
	}
	c.sfuNode = best
	f := &wire.Frame{Type: wire.TypeCall, Kind: wire.CallEscalated, CallID: c.id}
	req := bus.Request{User: c.caller, Frame: wire.Msgpack.Append(nil, f)}
	for _, n := range c.roomNodes() {
		if s.liveSFU(n) {
			s.forwardSFU(c, n, "", &req, req.AppendMsgpack(nil), nil)
		}
	}
}

// nodeCounts returns how many of the call's participants each node holds.
func (c *call) nodeCounts() map[string]int {
	counts := make(map[string]int)
	for user, n := range c.sfuParts {
		if c.participant(user) != nil {
			counts[n]++
		}
	}
	return counts
}

// roomNodes returns every node of the room, home first; [""] when the room
// was never placed (bus.SFUSignalSubject).
func (c *call) roomNodes() []string {
	nodes := []string{c.sfuNode}
	for _, n := range c.sfuParts {
		if n != "" && !slices.Contains(nodes, n) {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// roomToSFU sends a checked room request: a moderator's request about
// another participant (mute, kick, role, lower hand) to that participant's
// node, the room's mode to every node (the home node answers), anything
// else to the sender's node.
func (s *Service) roomToSFU(c *call, m *nats.Msg, req *bus.Request, f *wire.Frame) {
	data := req.AppendMsgpack(nil)
	unavailable := func() { s.reply(m, errorFrame(f, wire.CodeUnavailable, "sfu unavailable")) }
	node := s.nodeOf(c, req.User)
	switch {
	case f.Kind == wire.RoomSetMode && s.cfg.SFURoomSpread > 0:
		for _, n := range c.roomNodes() {
			reply := ""
			if n == node {
				reply = m.Reply
			}
			s.forwardSFU(c, n, reply, req, data, nil)
		}
		return
	case f.To != "" && f.To != req.User && aboutTarget(f.Kind):
		if n := c.sfuParts[f.To]; n != "" && c.participant(f.To) != nil {
			node = n
		}
	}
	s.forwardSFU(c, node, m.Reply, req, data, unavailable)
}

// aboutTarget reports whether a room request of kind acts on its To.
func aboutTarget(kind uint8) bool {
	switch kind {
	case wire.RoomMute, wire.RoomUnmute, wire.RoomKick, wire.RoomSetRole, wire.RoomLowerHand:
		return true
	}
	return false
}
