package sfu

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/wire"
)

// audioRoom starts three audio publishers (u0 owns the call) sending audio
// levels, all receiving each other.
func audioRoom(t *testing.T) []*testClient {
	t.Helper()
	srv, _ := bustest.Start(t)
	startNodeOn(t, srv)
	api := simulcastAPI(t)
	clients := make([]*testClient, 3)
	for i := range clients {
		c := newTestClientAPI(t, srv, api, "n1-audio", fmt.Sprintf("u%d", i))
		c.owner = "u0"
		c.publish(webrtc.RTPCodecTypeAudio)
		c.join()
		clients[i] = c
	}
	waitFor(t, 15*time.Second, "everyone to hear everyone", func() bool {
		for _, c := range clients {
			for _, o := range clients {
				if o != c && c.packets(o.user+"/0") < 5 {
					return false
				}
			}
		}
		return true
	}, clients[0].describe, clients[1].describe, clients[2].describe)
	return clients
}

// lastSpeakers returns the users of c's latest active speakers event.
func (c *testClient) lastSpeakers() ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.events) - 1; i >= 0; i-- {
		if c.events[i].Kind == wire.RoomActiveSpeakers {
			return c.events[i].Users, true
		}
	}
	return nil, false
}

// TestActiveSpeaker: the loudest participant (audio level header
// extension) is announced to everyone, and the announcement follows when
// another speaks louder.
func TestActiveSpeaker(t *testing.T) {
	c := audioRoom(t)
	c[1].level.Store(20) // -20 dBov
	waitFor(t, 5*time.Second, "u1 as the active speaker", func() bool {
		for _, cl := range c {
			if us, _ := cl.lastSpeakers(); !slices.Equal(us, []string{"u1"}) {
				return false
			}
		}
		return true
	})
	c[2].level.Store(5)
	waitFor(t, 5*time.Second, "u2 then u1", func() bool {
		us, _ := c[0].lastSpeakers()
		return slices.Equal(us, []string{"u2", "u1"})
	})
	c[1].level.Store(127)
	c[2].level.Store(127)
	waitFor(t, 5*time.Second, "silence", func() bool {
		us, ok := c[0].lastSpeakers()
		return ok && len(us) == 0
	})
}

// TestModeration: hands, a forced mute that stops forwarding and that only
// the moderator lifts, roles, a kick; requests of non-moderators about
// others are refused.
func TestModeration(t *testing.T) {
	c := audioRoom(t)
	u0, u1, u2 := c[0], c[1], c[2]
	req := func(from *testClient, kind uint8, to string, limit uint16) error {
		_, err := from.request(&wire.Frame{Type: wire.TypeRoom, Kind: kind, To: to, Limit: limit})
		return err
	}
	everyone := func(kind uint8, from string) func() bool {
		return func() bool {
			for _, cl := range c {
				if cl.event(kind, from) == nil {
					return false
				}
			}
			return true
		}
	}

	if err := req(u1, wire.RoomRaiseHand, "", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "hand raised", everyone(wire.RoomHandRaised, "u1"))
	if err := req(u0, wire.RoomLowerHand, "u1", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "hand lowered", everyone(wire.RoomHandLowered, "u1"))

	// Only the moderator acts on others.
	for _, kind := range []uint8{wire.RoomMute, wire.RoomKick, wire.RoomSetRole} {
		if err := req(u2, kind, "u1", 2); wireCode(err) != wire.CodePermissionDenied {
			t.Errorf("u2's request %d about u1: %v, want permission_denied", kind, err)
		}
	}
	if err := req(u0, wire.RoomMute, "u9", 0); wireCode(err) != wire.CodeTargetNotInCall {
		t.Errorf("mute a stranger: %v, want target_not_in_call", err)
	}

	// A forced mute stops forwarding u1's audio; u1 cannot lift it.
	if err := req(u0, wire.RoomMute, "u1", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "muted", everyone(wire.RoomMuted, "u1"))
	if f := u2.event(wire.RoomMuted, "u1"); !f.Stop {
		t.Error("a moderator's mute is not marked forced")
	}
	stopped := func() bool {
		before := u2.packets("u1/0")
		time.Sleep(200 * time.Millisecond) // a quiet interval: nothing may arrive in it
		return u2.packets("u1/0") == before
	}
	waitFor(t, 5*time.Second, "u1's audio to stop", stopped)
	if err := req(u1, wire.RoomUnmute, "", 0); wireCode(err) != wire.CodePermissionDenied {
		t.Errorf("self-unmute after a forced mute: %v, want permission_denied", err)
	}
	if err := req(u0, wire.RoomUnmute, "u1", 0); err != nil {
		t.Fatal(err)
	}
	before := u2.packets("u1/0")
	waitFor(t, 5*time.Second, "u1's audio again", func() bool { return u2.packets("u1/0") > before+5 })

	// A listener's tracks are removed from everyone.
	if err := req(u0, wire.RoomSetRole, "u2", wire.RoleListener); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "u2 a listener, its track removed", func() bool {
		return everyone(wire.RoomRole, "u2")() && u0.trackEnded("u2/0") && u1.trackEnded("u2/0") &&
			u1.event(wire.RoomTrackUnpublished, "u2") != nil
	}, u0.describe)
	if err := req(u0, wire.RoomSetRole, "u2", 7); wireCode(err) != wire.CodeBadFrame {
		t.Errorf("role 7: %v, want bad_frame", err)
	}

	// A kick tells everyone and removes u1's track.
	if err := req(u0, wire.RoomKick, "u1", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "u1 kicked", func() bool {
		return u0.event(wire.RoomKicked, "u1") != nil && u2.event(wire.RoomKicked, "u1") != nil &&
			u0.trackEnded("u1/0") && u2.trackEnded("u1/0")
	}, u0.describe)
}

// TestStage: in stage mode every participant but the moderator listens
// (their tracks are removed from everyone); the moderator
// gives one the speaker role; opening the room makes everyone a speaker.
func TestStage(t *testing.T) {
	c := audioRoom(t)
	u0, u1, u2 := c[0], c[1], c[2]
	if _, err := u1.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetMode, Limit: wire.ModeStage}); wireCode(err) != wire.CodePermissionDenied {
		t.Errorf("a non-moderator sets the mode: %v, want permission_denied", err)
	}
	if _, err := u0.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetMode, Limit: 3}); wireCode(err) != wire.CodeBadFrame {
		t.Errorf("mode 3: %v, want bad_frame", err)
	}
	if _, err := u0.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetMode, Limit: wire.ModeStage}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "u1 and u2 listeners, their tracks gone", func() bool {
		return u0.trackEnded("u1/0") && u0.trackEnded("u2/0") && u1.trackEnded("u2/0") && u2.trackEnded("u1/0") &&
			u2.event(wire.RoomRole, "u1") != nil && u1.event(wire.RoomMode, "u0") != nil
	}, u0.describe, u1.describe, u2.describe)
	before := u1.packets("u0/0")
	waitFor(t, 5*time.Second, "listeners still hear the moderator", func() bool { return u1.packets("u0/0") > before+5 })

	if _, err := u0.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetRole, To: "u2", Limit: wire.RoleSpeaker}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "u2 on stage", func() bool { return u1.packets("u2/0") > 5 && !u1.trackEnded("u2/0") }, u1.describe)

	if _, err := u0.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetMode, Limit: wire.ModeOpen}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "u1 speaks again", func() bool { return u2.packets("u1/0") > 5 && !u2.trackEnded("u1/0") }, u2.describe)
}
