package salam

import (
	"context"
	"errors"
	"slices"

	"github.com/salamhq/salam/sdk/go/wire"
)

// Rooms on the SFU (PROTOCOL.md §4, 22). A call that escalated (CallEscalated)
// runs in a room whose id is the call id. Each participant has one peer
// connection with the SFU, signaled with the call methods and an empty
// participant ("" is the SFU):
//
//  1. CallOffer(ctx, call, "", OfferInitial, sdp): your first offer (a
//     client that publishes nothing offers a recvonly transceiver). When it
//     returns nil, the SFU's answer has been handed to OnSignal (SignalAnswer,
//     From ""), ahead of anything the SFU sends later.
//  2. From then on the SFU renegotiates: its offers reach OnSignal as
//     SignalOffer, From "", Offer OfferRenegotiate, in order; apply each and
//     reply with CallAnswer(ctx, call, "", sdp) before the next one.
//  3. An offer of yours that crosses one of the SFU's is refused with
//     ErrGlare (the SFU is impolite): roll back and answer the SFU's offer.
//  4. When the peer connection fails, or after CallResumed, start over with a
//     new peer connection and OfferInitial.
//
// The room methods below name a track by its publisher and the publisher's
// media section (mid); the SFU sends it with the publisher's user id as the
// stream id, path-escaped (url.PathUnescape gives the user id back), and
// mid as the track id.

// Role is a participant's role in a room.
type Role uint8

const (
	RoleSpeaker  = Role(wire.RoleSpeaker)  // publishes and receives
	RoleListener = Role(wire.RoleListener) // receives only: its tracks are not forwarded
)

func (r Role) String() string {
	switch r {
	case RoleSpeaker:
		return "speaker"
	case RoleListener:
		return "listener"
	}
	return "unknown"
}

// RoomMode is a room's mode.
type RoomMode uint8

const (
	ModeOpen  = RoomMode(wire.ModeOpen)  // everyone speaks (the default)
	ModeStage = RoomMode(wire.ModeStage) // an audio room: everyone but the moderator listens until given RoleSpeaker
)

func (m RoomMode) String() string {
	switch m {
	case ModeOpen:
		return "open"
	case ModeStage:
		return "stage"
	}
	return "unknown"
}

// Layer is a simulcast layer.
type Layer uint8

const (
	LayerLow    Layer = 0 // rid "q"
	LayerMedium Layer = 1 // rid "h"
	LayerHigh   Layer = 2 // rid "f"
)

// RoomEventKind is what happened in a room.
type RoomEventKind uint8

const (
	RoomTrackPublished   = RoomEventKind(wire.RoomTrackPublished)   // From publishes track Mid (ContentType: its codec); you receive it unless you unsubscribe
	RoomTrackUnpublished = RoomEventKind(wire.RoomTrackUnpublished) // track (From, Mid) is gone
	RoomActiveSpeakers   = RoomEventKind(wire.RoomActiveSpeakers)   // Speakers: the loudest now, loudest first (empty: silence)
	RoomHandRaised       = RoomEventKind(wire.RoomHandRaised)       // From raised a hand
	RoomHandLowered      = RoomEventKind(wire.RoomHandLowered)      // From's hand is down
	RoomMuted            = RoomEventKind(wire.RoomMuted)            // From's audio is not forwarded; Forced: by the moderator
	RoomUnmuted          = RoomEventKind(wire.RoomUnmuted)          // From's audio is forwarded again
	RoomKicked           = RoomEventKind(wire.RoomKicked)           // the moderator removed From (you too: your peer connection closes)
	RoomRoleChanged      = RoomEventKind(wire.RoomRole)             // From's role is now Role
	RoomLayerChanged     = RoomEventKind(wire.RoomLayer)            // you now receive Layer of simulcast track (From, Mid)
	RoomModeChanged      = RoomEventKind(wire.RoomMode)             // the moderator From set the room's mode to Mode
)

var roomEventNames = [...]string{"track_published", "track_unpublished", "active_speakers", "hand_raised",
	"hand_lowered", "muted", "unmuted", "kicked", "role", "layer", "mode"}

// String returns the event's name in PROTOCOL.md.
func (k RoomEventKind) String() string {
	if k >= RoomTrackPublished && k <= RoomModeChanged {
		return roomEventNames[k-RoomTrackPublished]
	}
	return "unknown"
}

// RoomEvent is a room event, delivered to Config.OnRoom. Only the fields
// its Kind lists are set.
type RoomEvent struct {
	Kind        RoomEventKind
	Call        string   // the call (room) id
	From        string   // the participant concerned: a track's publisher, who raised a hand, was muted… (mode: the moderator)
	Mid         string   // track events and layer: the publisher's media section
	ContentType string   // RoomTrackPublished: the codec's MIME type, e.g. "audio/opus"
	Speakers    []string // RoomActiveSpeakers
	Forced      bool     // RoomMuted: by the moderator; only the moderator unmutes
	Role        Role     // RoomRoleChanged
	Layer       Layer    // RoomLayerChanged
	Mode        RoomMode // RoomModeChanged
}

// roomEventOf converts a room frame; ok is false for a kind this SDK does
// not know (ignored, as PROTOCOL.md asks).
func roomEventOf(f *wire.Frame) (RoomEvent, bool) {
	k := RoomEventKind(f.Kind)
	if k < RoomTrackPublished || k > RoomModeChanged {
		return RoomEvent{}, false
	}
	ev := RoomEvent{Kind: k, Call: f.CallID, From: f.From}
	switch k {
	case RoomTrackPublished:
		ev.Mid, ev.ContentType = f.Mid, f.ContentType
	case RoomTrackUnpublished:
		ev.Mid = f.Mid
	case RoomActiveSpeakers:
		ev.Speakers = slices.Clone(f.Users)
	case RoomMuted:
		ev.Forced = f.Stop
	case RoomRoleChanged:
		ev.Role = Role(f.Limit)
	case RoomLayerChanged:
		ev.Mid, ev.Layer = f.Mid, Layer(f.Limit)
	case RoomModeChanged:
		ev.Mode = RoomMode(f.Limit)
	}
	return ev, true
}

// RoomSubscribe receives track (publisher, mid) again after RoomUnsubscribe
// (every track is received by default). ErrTrackNotFound: no such track.
func (c *Client) RoomSubscribe(ctx context.Context, call, publisher, mid string) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomSubscribe, CallID: call, To: publisher, Mid: mid})
}

// RoomUnsubscribe stops receiving track (publisher, mid): the SFU removes it
// with a renegotiation offer. ErrTrackNotFound: no such track.
func (c *Client) RoomUnsubscribe(ctx context.Context, call, publisher, mid string) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomUnsubscribe, CallID: call, To: publisher, Mid: mid})
}

// RoomPause keeps track (publisher, mid) negotiated but stops its packets.
// ErrTrackNotFound: a track you do not receive.
func (c *Client) RoomPause(ctx context.Context, call, publisher, mid string) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomPause, CallID: call, To: publisher, Mid: mid})
}

// RoomResume sends a paused track's packets again, from its next keyframe.
func (c *Client) RoomResume(ctx context.Context, call, publisher, mid string) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomResume, CallID: call, To: publisher, Mid: mid})
}

// RoomMaxLayer caps the simulcast layer of track (publisher, mid) you
// receive (RoomLayerChanged tells which one you get). ErrBadFrame: a layer
// above LayerHigh.
func (c *Client) RoomMaxLayer(ctx context.Context, call, publisher, mid string, layer Layer) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomMaxLayer, CallID: call, To: publisher, Mid: mid, Limit: uint16(layer)})
}

// RoomRaiseHand raises your hand: everyone receives RoomHandRaised.
func (c *Client) RoomRaiseHand(ctx context.Context, call string) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomRaiseHand, CallID: call})
}

// RoomLowerHand lowers user's hand: "" (or yourself) for your own; another
// participant's only as the moderator (the call's owner), else
// ErrPermissionDenied.
func (c *Client) RoomLowerHand(ctx context.Context, call, user string) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomLowerHand, CallID: call, To: user})
}

// RoomMute stops forwarding user's audio: "" for your own; another
// participant's as the moderator, which is a forced mute (RoomMuted with
// Forced) that only the moderator lifts.
func (c *Client) RoomMute(ctx context.Context, call, user string) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomMute, CallID: call, To: user})
}

// RoomUnmute forwards user's audio again ("" for your own). After a forced
// mute only the moderator may: ErrPermissionDenied.
func (c *Client) RoomUnmute(ctx context.Context, call, user string) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomUnmute, CallID: call, To: user})
}

// RoomKick removes user from the room and the call (moderator only):
// everyone receives RoomKicked, then user's peer connection is closed and
// the others receive CallLeft. Not retried after a lost reply (a repeat
// would be refused with ErrTargetNotInCall).
func (c *Client) RoomKick(ctx context.Context, call, user string) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomKick, CallID: call, To: user})
}

// RoomSetRole makes user a speaker or a listener (moderator only): a
// listener's tracks are not forwarded.
func (c *Client) RoomSetRole(ctx context.Context, call, user string, role Role) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomSetRole, CallID: call, To: user, Limit: uint16(role)})
}

// RoomSetMode opens the room or makes it a stage (moderator only).
func (c *Client) RoomSetMode(ctx context.Context, call string, mode RoomMode) error {
	return c.roomRequest(ctx, wire.Frame{Kind: wire.RoomSetMode, CallID: call, Limit: uint16(mode)})
}

// roomRequest sends a room request and waits for its ack. Temporary
// refusals (no SFU serves the call yet: ErrUnavailable) are retried with
// backoff until ctx ends; a lost reply too, except for a kick. The other
// refusals come back as *Error: ErrTrackNotFound, ErrTargetNotInCall,
// ErrPermissionDenied, ErrBadFrame, ErrOutOfOrder (before your first offer
// to the SFU), ErrCallNotFound, ErrNotInCall.
func (c *Client) roomRequest(ctx context.Context, f wire.Frame) error {
	f.Type = wire.TypeRoom
	for attempt := 1; ; attempt++ {
		cn, err := c.conn(ctx)
		if err != nil {
			return err
		}
		g := f
		_, err = cn.request(ctx, &g)
		if err == nil {
			return nil
		}
		var refused *Error
		if !retriable(err) || (!errors.As(err, &refused) && f.Kind == wire.RoomKick) {
			return err
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if refused != nil {
			if err := c.sleep(ctx, c.cfg.Backoff.Delay(attempt)); err != nil {
				return err
			}
		}
	}
}
