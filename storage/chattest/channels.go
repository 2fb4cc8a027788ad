package chattest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
)

func runChannels(t *testing.T, open Opener) {
	t.Run("CreateAndGet", func(t *testing.T) {
		f := setup(t, open)
		in := chat.Channel{
			ID: "general", Kind: chat.KindGroup, Name: "General", Topic: "all things",
			Public: true, MemberCap: 256, CreatedBy: "alice", CreatedAt: base,
			LastSeq: 42, // ignored: a new channel starts at 0
		}
		want := in
		want.LastSeq = 0
		got, err := f.s.CreateChannel(f.ctx, in, "alice")
		if err != nil {
			t.Fatalf("CreateChannel: %v", err)
		}
		checkChannel(t, "CreateChannel", got, want)
		checkChannel(t, "Channel", f.channel("general"), want)
	})

	t.Run("Kinds", func(t *testing.T) {
		f := setup(t, open)
		dm := chat.DMChannelID("alice", "bob")
		for _, in := range []chat.Channel{
			{ID: dm, Kind: chat.KindDM, MemberCap: 2, CreatedBy: "alice", CreatedAt: base},
			{ID: "live1", Kind: chat.KindBroadcast, Name: "Live", Public: true, CreatedBy: "carol", CreatedAt: base},
			{ID: "team", Kind: chat.KindGroup, Name: "Team", Topic: "private", MemberCap: 8, CreatedBy: "dave", CreatedAt: base},
		} {
			got, err := f.s.CreateChannel(f.ctx, in, in.CreatedBy)
			if err != nil {
				t.Fatalf("CreateChannel(%s): %v", in.Kind, err)
			}
			checkChannel(t, "CreateChannel", got, in)
			checkChannel(t, "Channel", f.channel(in.ID), in)
		}
	})

	t.Run("OwnerIsFirstMember", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 10)
		m := f.member("g", owner)
		if m.Channel != "g" || m.User != owner || m.Role != chat.RoleOwner || m.ReadSeq != 0 || m.DeliveredSeq != 0 {
			t.Errorf("owner membership %+v, want role owner with cursors at 0", m)
		}
		if m.JoinedAt.IsZero() || m.JoinedAt.Location() != time.UTC { // creation or current time: not pinned
			t.Errorf("owner JoinedAt %v, want a UTC time", m.JoinedAt)
		}
		if n, err := f.s.MemberCount(f.ctx, "g"); err != nil || n != 1 {
			t.Errorf("MemberCount = %d, %v; want 1", n, err)
		}
	})

	t.Run("CreateExists", func(t *testing.T) {
		f := setup(t, open)
		first := f.group("g", 10)
		_, err := f.s.CreateChannel(f.ctx, chat.Channel{
			ID: "g", Kind: chat.KindGroup, Name: "other", CreatedBy: "mallory", CreatedAt: base,
		}, "mallory")
		wantErr(t, "second CreateChannel", err, chat.ErrExists)
		checkChannel(t, "Channel after ErrExists", f.channel("g"), first)
		_, err = f.s.Member(f.ctx, "g", "mallory")
		wantErr(t, "Member(second owner)", err, chat.ErrNotFound)
	})

	t.Run("NotFound", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		_, err := f.s.Channel(f.ctx, "nope")
		wantErr(t, "Channel", err, chat.ErrNotFound)
		_, err = f.s.UpdateChannel(f.ctx, chat.Channel{ID: "nope", Name: "x"})
		wantErr(t, "UpdateChannel", err, chat.ErrNotFound)
		wantErr(t, "DeleteChannel", f.s.DeleteChannel(f.ctx, "nope"), chat.ErrNotFound)
	})

	t.Run("Update", func(t *testing.T) {
		f := setup(t, open)
		orig := f.group("g", 10)
		f.post("g", owner, 3)
		got, err := f.s.UpdateChannel(f.ctx, chat.Channel{
			ID: "g", Name: "renamed", Topic: "new topic", Public: false, MemberCap: 20,
			// Not updatable: kind, creator, creation time, sequence.
			Kind: chat.KindBroadcast, CreatedBy: "mallory", CreatedAt: base.AddDate(1, 0, 0), LastSeq: 99,
		})
		if err != nil {
			t.Fatalf("UpdateChannel: %v", err)
		}
		want := orig
		want.Name, want.Topic, want.Public, want.MemberCap, want.LastSeq = "renamed", "new topic", false, 20, 3
		checkChannel(t, "UpdateChannel", got, want)
		checkChannel(t, "Channel", f.channel("g"), want)
	})

	// Open: the flag round-trips through every read, and what core/chat's
	// publish check reads of an open room is there: a viewer is no member
	// yet may append, and a ban is a listed membership.
	t.Run("Open", func(t *testing.T) {
		f := setup(t, open)
		in := chat.Channel{ID: "live-s1", Kind: chat.KindBroadcast, Name: "Live: s1", Public: true, Open: true,
			CreatedBy: owner, CreatedAt: base}
		got, err := f.s.CreateChannel(f.ctx, in, owner)
		if err != nil {
			t.Fatalf("CreateChannel(open): %v", err)
		}
		checkChannel(t, "CreateChannel", got, in)
		checkChannel(t, "Channel", f.channel(in.ID), in)
		if chs, err := f.s.ChannelsOf(f.ctx, owner); err != nil || len(chs) != 1 {
			t.Fatalf("ChannelsOf(owner) = %v, %v; want the room", chs, err)
		} else {
			checkChannel(t, "ChannelsOf", chs[0], in)
		}

		_, err = f.s.Member(f.ctx, in.ID, "viewer")
		wantErr(t, "Member(viewer)", err, chat.ErrNotFound)
		r := f.append(f.newMsg(in.ID, "viewer"))[0]
		if r.Err != nil || r.Message.Seq != 1 || r.Message.Sender != "viewer" {
			t.Errorf("Append by a non-member = %+v; want message #1 from viewer", r)
		}
		if _, err := f.s.React(f.ctx, in.ID, 1, "viewer2", "👏", true); err != nil {
			t.Errorf("React by a non-member: %v", err)
		}
		if m := f.put(in.ID, "troll", chat.RoleBanned); m.Role != chat.RoleBanned {
			t.Errorf("ban: role %q", m.Role)
		}
		if m := f.member(in.ID, "troll"); m.Role != chat.RoleBanned {
			t.Errorf("Member(banned) role %q, want banned", m.Role)
		}

		for _, isOpen := range []bool{false, true} { // closed, then opened again
			upd := in
			upd.Open = isOpen
			got, err := f.s.UpdateChannel(f.ctx, upd)
			if err != nil {
				t.Fatalf("UpdateChannel(open %v): %v", isOpen, err)
			}
			upd.LastSeq = 1
			checkChannel(t, "UpdateChannel", got, upd)
			checkChannel(t, "Channel after UpdateChannel", f.channel(in.ID), upd)
		}

		closed := f.group("g", 10) // channels are closed unless created open
		if closed.Open || f.channel("g").Open {
			t.Errorf("group created without Open reads back open")
		}
	})

	t.Run("UpdateCapBelowCount", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 10)
		f.join("g", "u1", "u2")
		if _, err := f.s.UpdateChannel(f.ctx, chat.Channel{ID: "g", Name: "g", MemberCap: 1}); err != nil {
			t.Fatalf("UpdateChannel(cap 1 with 3 members): %v", err)
		}
		if n, err := f.s.MemberCount(f.ctx, "g"); err != nil || n != 3 {
			t.Errorf("MemberCount = %d, %v; want 3 (nobody removed)", n, err)
		}
		_, err := f.s.PutMember(f.ctx, "g", "u3", chat.RoleMember)
		wantErr(t, "PutMember over the lowered cap", err, chat.ErrFull)
	})

	t.Run("Delete", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 10)
		f.group("keep", 10)
		f.join("g", "u1")
		f.join("keep", "u1")
		msgs := f.post("g", "u1", 3)
		if _, err := f.s.React(f.ctx, "g", 1, "u1", "👍", true); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Pin(f.ctx, "g", 2, true); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteChannel(f.ctx, "g"); err != nil {
			t.Fatalf("DeleteChannel: %v", err)
		}
		_, err := f.s.Channel(f.ctx, "g")
		wantErr(t, "Channel after delete", err, chat.ErrNotFound)
		_, err = f.s.Member(f.ctx, "g", "u1")
		wantErr(t, "Member after delete", err, chat.ErrNotFound)
		_, err = f.s.Message(f.ctx, "g", 1)
		wantErr(t, "Message after delete", err, chat.ErrNotFound)
		if n, err := f.s.MemberCount(f.ctx, "g"); n != 0 || err != nil && !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("MemberCount after delete = %d, %v; want 0", n, err)
		}
		if chs, err := f.s.ChannelsOf(f.ctx, "u1"); err != nil || len(chs) != 1 || chs[0].ID != "keep" {
			t.Errorf("ChannelsOf after delete = %v, %v; want [keep]", chs, err)
		}
		wantErr(t, "second DeleteChannel", f.s.DeleteChannel(f.ctx, "g"), chat.ErrNotFound)

		// The id is free again, and so are the client ids of its messages:
		// they are no longer stored.
		ch := f.group("g", 10)
		if ch.LastSeq != 0 {
			t.Errorf("recreated channel LastSeq %d, want 0", ch.LastSeq)
		}
		if ms, more, err := f.s.History(f.ctx, chat.HistoryQuery{Channel: "g", Limit: 10}); err != nil || len(ms) != 0 || more {
			t.Errorf("History of recreated channel = %d messages, more %v, %v; want none", len(ms), more, err)
		}
		if ms, err := f.s.Pinned(f.ctx, "g"); err != nil || len(ms) != 0 {
			t.Errorf("Pinned of recreated channel = %v, %v; want none", ms, err)
		}
		again := chat.NewMessage{Channel: "g", Sender: "u1", ClientID: msgs[0].ClientID,
			ContentType: msgs[0].ContentType, Body: msgs[0].Body, CreatedAt: base}
		r := f.append(again)[0]
		if r.Err != nil || r.Duplicate || r.Message.Seq != 1 {
			t.Errorf("Append after recreate = seq %d, duplicate %v, %v; want a new message #1", r.Message.Seq, r.Duplicate, r.Err)
		}
		if m := f.message("g", 1); m.Reactions != nil || m.Pinned {
			t.Errorf("new message #1 inherited reactions %v or pin %v", m.Reactions, m.Pinned)
		}
	})

	t.Run("ChannelsOf", func(t *testing.T) {
		f := setup(t, open)
		for _, id := range []string{"c", "a", "e", "b", "d"} { // created out of order
			f.group(id, 0)
		}
		f.join("c", "u1")
		f.join("a", "u1")
		f.put("b", "u1", chat.RoleAdmin)
		f.put("d", "u1", chat.RoleBanned) // banned: not listed
		f.post("b", owner, 2)
		got, err := f.s.ChannelsOf(f.ctx, "u1")
		if err != nil {
			t.Fatalf("ChannelsOf: %v", err)
		}
		ids := make([]string, len(got))
		for i, ch := range got {
			ids[i] = ch.ID
		}
		if !slices.Equal(ids, []string{"a", "b", "c"}) {
			t.Fatalf("ChannelsOf(u1) = %v, want [a b c]", ids)
		}
		want := f.channel("b")
		checkChannel(t, "ChannelsOf(u1)[1]", got[1], want)
		if want.LastSeq != 2 {
			t.Errorf("LastSeq %d, want 2", want.LastSeq)
		}
		if chs, err := f.s.ChannelsOf(f.ctx, "nobody"); err != nil || len(chs) != 0 {
			t.Errorf("ChannelsOf(nobody) = %v, %v; want none", chs, err)
		}
		if chs, err := f.s.ChannelsOf(f.ctx, owner); err != nil || len(chs) != 5 {
			t.Errorf("ChannelsOf(owner) = %d channels, %v; want 5", len(chs), err)
		}
	})
}

// checkChannel compares every field; times as the store must return them.
func checkChannel(t *testing.T, what string, got, want chat.Channel) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.Name != want.Name || got.Topic != want.Topic ||
		got.Public != want.Public || got.Open != want.Open || got.MemberCap != want.MemberCap || got.CreatedBy != want.CreatedBy ||
		got.LastSeq != want.LastSeq {
		t.Errorf("%s: got %+v\nwant %+v", what, got, want)
	}
	checkTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
}
