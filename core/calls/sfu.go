package calls

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// sfuNodes is what core knows of the SFU nodes: their last heartbeat
// (bus.SFUAnnounce), received on nats.go's goroutine, read by the shards.
type sfuNodes struct {
	mu    sync.Mutex
	nodes map[string]sfuNode
}

type sfuNode struct {
	bus.SFUAnnounce
	seen time.Time
}

func (s *Service) onSFUAnnounce(m *nats.Msg) {
	var a bus.SFUAnnounce
	if json.Unmarshal(m.Data, &a) != nil || !bus.ValidNode(a.Node) {
		return
	}
	s.sfus.mu.Lock()
	defer s.sfus.mu.Unlock()
	if a.Stopping {
		delete(s.sfus.nodes, a.Node)
		return
	}
	s.sfus.nodes[a.Node] = sfuNode{SFUAnnounce: a, seen: time.Now()}
}

// liveSFU reports whether node announced itself within Config.SFULiveness.
func (s *Service) liveSFU(node string) bool {
	s.sfus.mu.Lock()
	defer s.sfus.mu.Unlock()
	n, ok := s.sfus.nodes[node]
	return ok && time.Since(n.seen) <= s.cfg.SFULiveness
}

// pickSFU returns the live SFU node with the fewest participants that has
// room for another room, or "".
func (s *Service) pickSFU() string { return s.pickSFUExcept(nil) }

// pickSFUExcept is pickSFU among the nodes not in skip.
func (s *Service) pickSFUExcept(skip map[string]int) string {
	s.sfus.mu.Lock()
	defer s.sfus.mu.Unlock()
	best := ""
	var bestLoad int
	for id, n := range s.sfus.nodes {
		if time.Since(n.seen) > s.cfg.SFULiveness {
			delete(s.sfus.nodes, id)
			continue
		}
		if _, used := skip[id]; used || (n.MaxRooms > 0 && n.Rooms >= n.MaxRooms) {
			continue
		}
		if best == "" || n.Participants < bestLoad || (n.Participants == bestLoad && id < best) {
			best, bestLoad = id, n.Participants
		}
	}
	if best != "" { // count the placement until the node's next heartbeat says it
		n := s.sfus.nodes[best]
		n.Rooms++
		s.sfus.nodes[best] = n
	}
	return best
}

// sfuSubject returns where the call's SFU-bound frames go: the node its
// room is placed on, placed now if it has none or its node stopped
// announcing; bus.SFUSignalSubject (any node, or "no responders") when no
// node is known.
func (s *Service) sfuSubject(c *call) string {
	if c.sfuNode == "" || !s.liveSFU(c.sfuNode) {
		c.sfuNode = s.pickSFU()
	}
	if c.sfuNode == "" {
		return bus.SFUSignalSubject
	}
	return bus.SFUNodeSubject(c.sfuNode)
}

// toSFU forwards a participant's SFU-bound frame with the edge's reply
// subject, so the SFU answers the client directly: to the participant's
// node (spread.go), with the room's home node in the request when that is
// another node.
func (s *Service) toSFU(c *call, m *nats.Msg, req *bus.Request, f *wire.Frame, data []byte) {
	node := s.nodeOf(c, req.User)
	s.forwardSFU(c, node, m.Reply, req, data, func() { s.reply(m, errorFrame(f, wire.CodeUnavailable, "sfu unavailable")) })
}

// forwardSFU publishes req (encoded as data) to node with reply, re-encoded
// with the home hint when node is not the room's home; unavailable runs when
// the publish fails.
func (s *Service) forwardSFU(c *call, node, reply string, req *bus.Request, data []byte, unavailable func()) {
	subject := bus.SFUSignalSubject
	if node != "" {
		subject = bus.SFUNodeSubject(node)
	}
	if node != "" && c.sfuNode != "" && node != c.sfuNode {
		out := *req
		out.Home = c.sfuNode
		data = out.AppendMsgpack(nil)
	}
	var err error
	if reply == "" {
		err = s.nc.Publish(subject, data)
	} else {
		err = s.nc.PublishRequest(subject, reply, data)
	}
	if err != nil && unavailable != nil {
		unavailable()
	}
}

// room checks a room request (wire type 22) and forwards it to the SFU with
// From set to the call's owner, the room's moderator. The owner's kick also
// takes the target out of the call, as if it had left: the SFU only drops
// it from the media room, and a kicked participant must not stay in the
// call and keep its signaling.
func (s *Service) room(sh *shard, c *call, m *nats.Msg, req *bus.Request, f *wire.Frame) {
	from := c.participant(req.User)
	switch {
	case from == nil || from.session != req.Session || from.gone:
		s.reply(m, errorFrame(f, wire.CodeNotInCall, "join the call first"))
		return
	case !c.sfu:
		s.reply(m, errorFrame(f, wire.CodeWrongState, "the call does not run through the SFU"))
		return
	}
	f.From = c.caller
	out := bus.Request{User: req.User, Session: req.Session, Received: req.Received, Frame: wire.Msgpack.Append(nil, f)}
	s.roomToSFU(c, m, &out, f)
	if f.Kind == wire.RoomKick && req.User == c.caller && f.To != req.User {
		if target := c.participant(f.To); target != nil && !target.gone {
			s.leave(sh, c, f.To)
		}
	}
}

// tellSFU tells the call's SFU room that user left (kind wire.CallLeft:
// the node of user) or the call ended (wire.CallEnded: every node of the
// room); no reply. A room never placed by core (its frames went to
// bus.SFUSignalSubject) is told there, best effort: the SFU also ends a
// participant whose peer connection closes.
func (s *Service) tellSFU(c *call, user string, kind uint8) {
	if !c.sfu {
		return
	}
	f := &wire.Frame{Type: wire.TypeCall, Kind: kind, CallID: c.id}
	out := bus.Request{User: user, Frame: wire.Msgpack.Append(nil, f)}
	data := out.AppendMsgpack(nil)
	nodes := []string{c.sfuNode}
	if kind == wire.CallEnded {
		nodes = c.roomNodes()
	} else if n := c.sfuParts[user]; n != "" {
		nodes = []string{n}
	}
	if kind == wire.CallLeft {
		delete(c.sfuParts, user)
	}
	for _, node := range nodes {
		s.forwardSFU(c, node, "", &out, data, func() { s.log.Warn("tell sfu", "call", c.id, "node", node) })
	}
}
