package roomtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	salam "github.com/salamhq/salam/sdk/go"
)

// A room end to end through the SDK: alice, bob and carol join a call in
// salam up, which escalates it to its in-process SFU (sfu_threshold 2).
// Each offers to the SFU with CallOffer(to ""), gets its answer on
// OnSignal and answers the SFU's renegotiation offers, and receives the
// others' audio. Then the room requests and their events: hands, a
// moderator's forced mute seen with Forced and not lifted by its target,
// pause/resume, typed refusals (unknown track, bad layer, not the
// moderator), unsubscribe with a glare on the way, subscribe again, roles,
// stage mode, and a kick.
func TestRoom(t *testing.T) {
	s := startSalam(t)
	s.group(t, "team", s.token(t, "alice"), "bob", "carol")
	a, b, c := newPeer(t, s, "alice"), newPeer(t, s, "bob"), newPeer(t, s, "carol")
	peers := []*peer{a, b, c}
	explain := func() string {
		var out []string
		for _, p := range peers {
			out = append(out, p.describe())
		}
		return strings.Join(out, "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, explain())
		}
	}
	refused := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
	}

	call, err := a.c.CallCreate(ctx, "team")
	must("create", err)
	cid := call.ID
	refused("a room request before the call runs on the SFU", a.c.RoomRaiseHand(ctx, cid), salam.ErrWrongState)
	_, err = b.c.CallJoin(ctx, cid)
	must("bob joins", err)
	joined, err := c.c.CallJoin(ctx, cid)
	must("carol joins", err)
	if !joined.SFU {
		t.Fatalf("the third join did not escalate: %+v", joined)
	}
	for _, p := range peers {
		p.join(t, ctx, cid)
	}
	waitFor(t, 30*time.Second, "everyone receiving the two others", func() bool {
		for _, p := range peers {
			for _, o := range peers {
				if o != p && p.packets(o.user) < 10 {
					return false
				}
			}
		}
		return true
	}, explain)
	for _, p := range peers {
		for _, o := range peers {
			if o != p {
				ev := p.waitRoom(t, salam.RoomTrackPublished, o.user)
				if ev.Call != cid || ev.Mid != "0" || !strings.EqualFold(ev.ContentType, webrtc.MimeTypeOpus) {
					t.Fatalf("%s: track_published %+v", p.user, ev)
				}
			}
		}
	}

	// Hands: raised by bob, seen by the others; lowered by the moderator.
	must("raise hand", b.c.RoomRaiseHand(ctx, cid))
	a.waitRoom(t, salam.RoomHandRaised, "bob")
	c.waitRoom(t, salam.RoomHandRaised, "bob")
	refused("carol lowers bob's hand", c.c.RoomLowerHand(ctx, cid, "bob"), salam.ErrPermissionDenied)
	must("the moderator lowers bob's hand", a.c.RoomLowerHand(ctx, cid, "bob"))
	b.waitRoom(t, salam.RoomHandLowered, "bob")

	// A forced mute: only the moderator lifts it. A mute of one's own is not forced.
	must("forced mute", a.c.RoomMute(ctx, cid, "bob"))
	if ev := c.waitRoom(t, salam.RoomMuted, "bob"); !ev.Forced {
		t.Fatalf("the moderator's mute without Forced: %+v", ev)
	}
	refused("bob lifts a forced mute", b.c.RoomUnmute(ctx, cid, ""), salam.ErrPermissionDenied)
	must("the moderator unmutes bob", a.c.RoomUnmute(ctx, cid, "bob"))
	c.waitRoom(t, salam.RoomUnmuted, "bob")
	must("carol mutes herself", c.c.RoomMute(ctx, cid, ""))
	if ev := b.waitRoom(t, salam.RoomMuted, "carol"); ev.Forced {
		t.Fatalf("a mute of one's own with Forced: %+v", ev)
	}
	must("carol unmutes herself", c.c.RoomUnmute(ctx, cid, ""))
	b.waitRoom(t, salam.RoomUnmuted, "carol")

	// Track requests and their refusals.
	must("pause", c.c.RoomPause(ctx, cid, "alice", "0"))
	must("resume", c.c.RoomResume(ctx, cid, "alice", "0"))
	refused("layer 3", c.c.RoomMaxLayer(ctx, cid, "alice", "0", salam.LayerHigh+1), salam.ErrBadFrame)
	refused("unsubscribe from no track", c.c.RoomUnsubscribe(ctx, cid, "bob", "7"), salam.ErrTrackNotFound)
	refused("pause one's own track", c.c.RoomPause(ctx, cid, "carol", "0"), salam.ErrTrackNotFound)

	// Carol unsubscribes from bob; she holds the SFU's offer that removes
	// the track and offers herself: glare, the SFU wins. She answers its
	// offer, and bob's track ends for her.
	c.hold.Store(true)
	must("unsubscribe", c.c.RoomUnsubscribe(ctx, cid, "bob", "0"))
	waitFor(t, 10*time.Second, "the SFU's offer to carol", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.held != nil }, explain)
	// (pion cannot roll back a local offer, so this one is created but
	// not set: a browser would set it and roll back.)
	crossing, err := c.pc.CreateOffer(nil)
	must("create a crossing offer", err)
	refused("an offer crossing the SFU's", c.c.CallOffer(ctx, cid, "", salam.OfferRenegotiate, crossing.SDP), salam.ErrGlare)
	c.hold.Store(false)
	c.mu.Lock()
	held := *c.held
	c.mu.Unlock()
	if held.Offer != salam.OfferRenegotiate || held.Seq == 0 {
		t.Fatalf("the SFU's offer: kind %d, seq %d", held.Offer, held.Seq)
	}
	c.answer(held)
	waitFor(t, 10*time.Second, "bob's track to end for carol", func() bool { return c.stopped("bob") }, explain)
	must("subscribe again", c.c.RoomSubscribe(ctx, cid, "bob", "0"))
	waitFor(t, 15*time.Second, "bob's track back for carol", func() bool { return c.packets("bob") > 10 }, explain)

	// Roles and stage mode.
	refused("a role that does not exist", a.c.RoomSetRole(ctx, cid, "carol", salam.Role(7)), salam.ErrBadFrame)
	refused("bob sets the mode", b.c.RoomSetMode(ctx, cid, salam.ModeStage), salam.ErrPermissionDenied)
	must("carol made a listener", a.c.RoomSetRole(ctx, cid, "carol", salam.RoleListener))
	b.waitRoom(t, salam.RoomRoleChanged, "carol", func(e salam.RoomEvent) bool { return e.Role == salam.RoleListener })
	b.waitRoom(t, salam.RoomTrackUnpublished, "carol")
	must("stage", a.c.RoomSetMode(ctx, cid, salam.ModeStage))
	c.waitRoom(t, salam.RoomModeChanged, "alice", func(e salam.RoomEvent) bool { return e.Mode == salam.ModeStage })
	c.waitRoom(t, salam.RoomRoleChanged, "bob", func(e salam.RoomEvent) bool { return e.Role == salam.RoleListener })
	must("open", a.c.RoomSetMode(ctx, cid, salam.ModeOpen))
	b.waitRoom(t, salam.RoomModeChanged, "alice", func(e salam.RoomEvent) bool { return e.Mode == salam.ModeOpen })

	// A kick: only the moderator; everyone sees it, and the kicked leaves the call.
	refused("carol kicks bob", c.c.RoomKick(ctx, cid, "bob"), salam.ErrPermissionDenied)
	must("kick", a.c.RoomKick(ctx, cid, "carol"))
	b.waitRoom(t, salam.RoomKicked, "carol")
	c.waitRoom(t, salam.RoomKicked, "carol")
	waitFor(t, 10*time.Second, "bob to see carol leave", func() bool { return b.callEvent(salam.CallLeft, "carol") }, explain)
	refused("kick someone gone", a.c.RoomKick(ctx, cid, "carol"), salam.ErrTargetNotInCall)

	for _, p := range []*peer{a, b} {
		p.mu.Lock()
		errs := p.errs
		p.mu.Unlock()
		if len(errs) > 0 {
			t.Errorf("%s's asynchronous errors: %v", p.user, errs)
		}
	}
}
