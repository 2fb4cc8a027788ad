package sfu

import (
	"slices"

	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// request takes a room request of p (PROTOCOL.md §4, 22). Core forwards it
// after checking that p is in the call, with From set to the call's owner:
// the room's moderator.
func (r *room) request(p *participant, req *bus.Request, f *wire.Frame) *wire.Frame {
	if f.From != "" {
		r.moderator = f.From
	}
	moderator := f.From != "" && f.From == p.user
	switch f.Kind {
	case wire.RoomSubscribe, wire.RoomUnsubscribe, wire.RoomPause, wire.RoomResume, wire.RoomMaxLayer:
		return r.trackRequest(p, f)
	case wire.RoomSetMode:
		return r.setMode(p, moderator, f)
	}
	target := p
	if f.To != "" && f.To != p.user {
		if target = r.parts[f.To]; target == nil {
			return errorFrame(f, wire.CodeTargetNotInCall, f.To+" is not in the room")
		}
		if !moderator {
			return errorFrame(f, wire.CodePermissionDenied, "only the call's owner moderates others")
		}
	}
	event := &wire.Frame{Type: wire.TypeRoom, CallID: r.id, From: target.user}
	switch f.Kind {
	case wire.RoomRaiseHand:
		if target != p {
			return errorFrame(f, wire.CodePermissionDenied, "raise your own hand")
		}
		target.hand, event.Kind = true, wire.RoomHandRaised
	case wire.RoomLowerHand:
		target.hand, event.Kind = false, wire.RoomHandLowered
	case wire.RoomMute:
		forced := target != p
		target.muted, event.Kind, event.Stop = true, wire.RoomMuted, forced
		target.forcedMuted = target.forcedMuted || forced
		target.setAudioMuted(true)
	case wire.RoomUnmute:
		if target.forcedMuted && !moderator {
			return errorFrame(f, wire.CodePermissionDenied, "muted by the moderator")
		}
		target.muted, target.forcedMuted, event.Kind = false, false, wire.RoomUnmuted
		target.setAudioMuted(false)
	case wire.RoomKick:
		if !moderator || target == p {
			return errorFrame(f, wire.CodePermissionDenied, "only the call's owner kicks others")
		}
		event.Kind = wire.RoomKicked
		r.announce(event)
		r.leave(target, true)
		return ack(f)
	case wire.RoomSetRole:
		if !moderator {
			return errorFrame(f, wire.CodePermissionDenied, "only the call's owner sets roles")
		}
		if f.Limit != wire.RoleSpeaker && f.Limit != wire.RoleListener {
			return errorFrame(f, wire.CodeBadFrame, "role is 1 speaker or 2 listener")
		}
		r.setRole(target, f.Limit)
		event.Kind, event.Limit = wire.RoomRole, f.Limit
	default:
		return errorFrame(f, wire.CodeBadFrame, "unknown room request")
	}
	r.announce(event) // to the room's other nodes too
	return ack(f)
}

// trackRequest handles the requests about one track (To, Mid) p receives.
func (r *room) trackRequest(p *participant, f *wire.Frame) *wire.Frame {
	up := r.track(f.To, f.Mid)
	if up == nil || up.pub == p {
		return errorFrame(f, wire.CodeTrackNotFound, "no such track")
	}
	dt := p.subs[up.key()]
	switch f.Kind {
	case wire.RoomSubscribe:
		delete(p.unsubscribed, up.key())
		if up.pub.role != wire.RoleListener {
			p.subscribe(up)
		}
		return ack(f)
	case wire.RoomUnsubscribe:
		p.unsubscribe(up.key(), false)
		return ack(f)
	}
	if dt == nil {
		return errorFrame(f, wire.CodeTrackNotFound, "not subscribed to that track")
	}
	switch f.Kind {
	case wire.RoomPause:
		dt.paused.Store(true)
	case wire.RoomResume:
		dt.rebase()
		dt.paused.Store(false)
		dt.up.requestKeyframe(dt.targetLocked())
	case wire.RoomMaxLayer:
		if f.Limit >= maxLayers {
			return errorFrame(f, wire.CodeBadFrame, "layer is 0, 1 or 2")
		}
		dt.setMaxLayer(int(f.Limit))
	}
	return ack(f)
}

// setAudioMuted starts or stops forwarding p's audio.
func (p *participant) setAudioMuted(muted bool) {
	for _, up := range p.published {
		if up.kind == webrtc.RTPCodecTypeAudio {
			if !muted {
				for _, dt := range *up.downs.Load() {
					dt.rebase()
				}
			}
			up.muted.Store(muted)
		}
	}
}

// setRole makes p a listener (its tracks are removed from every
// subscriber) or a speaker again (they are forwarded again).
func (r *room) setRole(p *participant, role uint16) {
	if p.role == role {
		return
	}
	p.role = role
	for _, up := range p.published {
		if role == wire.RoleListener {
			r.broadcast(p.user, &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomTrackUnpublished, CallID: r.id,
				From: p.user, Mid: up.mid})
		} else {
			r.broadcast(p.user, up.publishedEvent())
		}
		for _, user := range r.order {
			sub := r.parts[user]
			if sub == p {
				continue
			}
			if role == wire.RoleListener {
				sub.unsubscribe(up.key(), true)
			} else {
				sub.subscribe(up)
			}
		}
	}
}

// setMode opens the room (everyone may speak) or makes it a stage: every
// participant but the moderator becomes a listener, and so does every
// newcomer, until the moderator gives them the speaker role.
func (r *room) setMode(p *participant, moderator bool, f *wire.Frame) *wire.Frame {
	switch {
	case !moderator:
		return errorFrame(f, wire.CodePermissionDenied, "only the call's owner sets the mode")
	case f.Limit != wire.ModeOpen && f.Limit != wire.ModeStage:
		return errorFrame(f, wire.CodeBadFrame, "mode is 1 open or 2 stage")
	}
	r.stage = f.Limit == wire.ModeStage
	r.broadcast("", &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomMode, CallID: r.id, From: p.user, Limit: f.Limit})
	role := wire.RoleSpeaker
	if r.stage {
		role = wire.RoleListener
	}
	for _, user := range slices.Clone(r.order) {
		// Stand-ins change role when their own node says so (relay.go).
		if o := r.parts[user]; o != p && o.via == nil && o.role != role && o.user != r.moderator {
			r.setRole(o, role)
			r.announce(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomRole, CallID: r.id, From: o.user, Limit: role})
		}
	}
	return ack(f)
}
