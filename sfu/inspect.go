package sfu

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/wire"
)

// inspectWait bounds how long the node waits for its rooms' goroutines to
// describe themselves; the console gathers answers for longer.
const inspectWait = 250 * time.Millisecond

// inspectRooms answers the console's observe.InspectRoomsSubject (on
// nats.go's goroutine for that subscription): every room describes itself
// on its own goroutine, which owns its participants; a room that does not
// answer within inspectWait is listed as incomplete. Every node answers,
// with no rooms too.
func (n *Node) inspectRooms(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	n.mu.Lock()
	rooms := make([]*room, 0, len(n.rooms))
	for _, r := range n.rooms {
		rooms = append(rooms, r)
	}
	n.mu.Unlock()
	slices.SortFunc(rooms, func(a, b *room) int { return strings.Compare(a.id, b.id) })
	views := make([]chan observe.SFURoom, len(rooms))
	for i, r := range rooms {
		ch := make(chan observe.SFURoom, 1)
		views[i] = ch
		if !r.enqueue(func() { ch <- r.inspect() }) {
			views[i] = nil
		}
	}
	out := observe.SFURooms{Node: n.cfg.NodeID, Rooms: make([]observe.SFURoom, 0, len(rooms))}
	timeout := time.NewTimer(inspectWait)
	defer timeout.Stop()
	expired := false
	for i, r := range rooms {
		v := observe.SFURoom{ID: r.id, Incomplete: true}
		switch {
		case views[i] == nil:
		case expired: // the time is up: only rooms that already answered
			select {
			case v = <-views[i]:
			default:
			}
		default:
			select {
			case v = <-views[i]:
			case <-r.done:
			case <-timeout.C:
				expired = true
			}
		}
		out.Rooms = append(out.Rooms, v)
	}
	data, _ := json.Marshal(&out)
	if err := m.Respond(data); err != nil {
		n.log.Debug("inspect reply", "err", err)
	}
}

// inspect describes the room (on its goroutine). Layer statistics are
// atomics written by the forwarding loops; a down-track's layer is read
// under its mu.
func (r *room) inspect() observe.SFURoom {
	v := observe.SFURoom{ID: r.id, Moderator: r.moderator, Stage: r.stage, Speakers: slices.Clone(r.speakers),
		Participants: make([]observe.SFUParticipant, 0, len(r.order)), Home: r.home}
	for node := range r.links {
		v.Links = append(v.Links, node)
	}
	slices.Sort(v.Links)
	for _, user := range r.order {
		p := r.parts[user]
		pv := observe.SFUParticipant{User: p.user, Session: p.session, Role: "speaker", Muted: p.muted,
			ForcedMuted: p.forcedMuted, Hand: p.hand, Tracks: make([]observe.SFUTrack, 0, len(p.published))}
		if p.role == wire.RoleListener {
			pv.Role = "listener"
		}
		if p.via != nil {
			pv.RelayedFrom = p.via.node
		}
		mids := make([]string, 0, len(p.published))
		for mid := range p.published {
			mids = append(mids, mid)
		}
		slices.Sort(mids)
		for _, mid := range mids {
			pv.Tracks = append(pv.Tracks, p.published[mid].inspect())
		}
		v.Participants = append(v.Participants, pv)
	}
	return v
}

func (up *upTrack) inspect() observe.SFUTrack {
	kind := "audio"
	if up.kind == webrtc.RTPCodecTypeVideo {
		kind = "video"
	}
	t := observe.SFUTrack{Mid: up.mid, Kind: kind, Codec: up.codec.MimeType, Muted: up.muted.Load(),
		Layers: []observe.SFULayer{}, Subscribers: []observe.SFUSubscriber{}}
	for idx := range maxLayers {
		if l := up.layers[idx].Load(); l != nil {
			t.Layers = append(t.Layers, observe.SFULayer{Layer: idx, RID: l.rid, Bitrate: l.stats.bitrate.Load(),
				Packets: l.stats.packets.Load(), Lost: l.stats.lost.Load()})
		}
	}
	for _, dt := range *up.downs.Load() {
		dt.mu.Lock()
		current, target := dt.current, dt.target
		dt.mu.Unlock()
		user := dt.sub.user
		if dt.sub.relay != nil {
			user = "relay:" + dt.sub.relay.node
		}
		t.Subscribers = append(t.Subscribers, observe.SFUSubscriber{User: user, Layer: current, Target: target,
			MaxLayer: int(dt.maxLayer.Load()), Paused: dt.paused.Load(), Estimate: dt.estimate.Load()})
	}
	return t
}
