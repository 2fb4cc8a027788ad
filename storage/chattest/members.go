package chattest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/salamhq/salam/core/chat"
)

func runMembers(t *testing.T, open Opener) {
	t.Run("PutMemberAdds", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 10)
		f.post("g", owner, 2)
		got := f.put("g", "u1", chat.RoleMember)
		if got.Channel != "g" || got.User != "u1" || got.Role != chat.RoleMember || got.ReadSeq != 0 || got.DeliveredSeq != 0 {
			t.Errorf("PutMember = %+v, want a member with cursors at 0", got)
		}
		checkRecent(t, "JoinedAt", got.JoinedAt)
		checkMember(t, "Member", f.member("g", "u1"), got)
		if n, err := f.s.MemberCount(f.ctx, "g"); err != nil || n != 2 {
			t.Errorf("MemberCount = %d, %v; want 2", n, err)
		}
	})

	t.Run("RoleChangeKeepsCursors", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 10)
		joined := f.put("g", "u1", chat.RoleMember)
		f.post("g", owner, 5)
		if _, _, err := f.s.MoveRead(f.ctx, "g", "u1", 3); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.s.MoveDelivered(f.ctx, "g", "u1", 4); err != nil {
			t.Fatal(err)
		}
		want := joined
		want.ReadSeq, want.DeliveredSeq = 3, 4
		for _, role := range []chat.Role{chat.RoleAdmin, chat.RoleBanned, chat.RoleMember, chat.RoleOwner} {
			want.Role = role
			checkMember(t, "PutMember("+string(role)+")", f.put("g", "u1", role), want)
			checkMember(t, "Member after "+string(role), f.member("g", "u1"), want)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 10)
		_, err := f.s.PutMember(f.ctx, "nope", "u1", chat.RoleMember)
		wantErr(t, "PutMember(unknown channel)", err, chat.ErrNotFound)
		_, err = f.s.Member(f.ctx, "g", "u1")
		wantErr(t, "Member(not a member)", err, chat.ErrNotFound)
		_, err = f.s.Member(f.ctx, "nope", owner)
		wantErr(t, "Member(unknown channel)", err, chat.ErrNotFound)
		wantErr(t, "RemoveMember(not a member)", f.s.RemoveMember(f.ctx, "g", "u1"), chat.ErrNotFound)
		wantErr(t, "RemoveMember(unknown channel)", f.s.RemoveMember(f.ctx, "nope", "u1"), chat.ErrNotFound)
		if n, err := f.s.MemberCount(f.ctx, "nope"); n != 0 || err != nil && !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("MemberCount(unknown channel) = %d, %v; want 0", n, err)
		}
	})

	t.Run("Remove", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 2)
		f.join("g", "u1")
		if err := f.s.RemoveMember(f.ctx, "g", "u1"); err != nil {
			t.Fatalf("RemoveMember: %v", err)
		}
		_, err := f.s.Member(f.ctx, "g", "u1")
		wantErr(t, "Member after remove", err, chat.ErrNotFound)
		wantErr(t, "second RemoveMember", f.s.RemoveMember(f.ctx, "g", "u1"), chat.ErrNotFound)
		f.join("g", "u2") // the slot is free again
		if chs, err := f.s.ChannelsOf(f.ctx, "u1"); err != nil || len(chs) != 0 {
			t.Errorf("ChannelsOf(removed) = %v, %v; want none", chs, err)
		}
	})

	t.Run("Cap", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 3) // owner + 2
		f.join("g", "u1", "u2")
		_, err := f.s.PutMember(f.ctx, "g", "u3", chat.RoleMember)
		wantErr(t, "PutMember beyond the cap", err, chat.ErrFull)
		if _, err := f.s.Member(f.ctx, "g", "u3"); !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("rejected member stored: Member = %v", err)
		}
		f.put("g", "u2", chat.RoleAdmin)  // a role change at the cap adds nobody
		f.put("g", "x", chat.RoleBanned)  // a ban list entry takes no slot
		f.put("g", "u1", chat.RoleBanned) // banning frees a slot…
		f.join("g", "u3")                 // …which u3 takes
		// Reading: lifting a ban adds a member that counts again, so it
		// is checked against the cap like an addition.
		_, err = f.s.PutMember(f.ctx, "g", "u1", chat.RoleMember)
		wantErr(t, "unban beyond the cap", err, chat.ErrFull)
		if m := f.member("g", "u1"); m.Role != chat.RoleBanned {
			t.Errorf("rejected unban changed the role to %q", m.Role)
		}
		if n, err := f.s.MemberCount(f.ctx, "g"); err != nil || n != 3 {
			t.Errorf("MemberCount = %d, %v; want 3 (banned excluded)", n, err)
		}
	})

	t.Run("CapZeroIsUnbounded", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		for i := range 50 {
			f.join("g", fmt.Sprintf("u%02d", i))
		}
		if n, err := f.s.MemberCount(f.ctx, "g"); err != nil || n != 51 {
			t.Errorf("MemberCount = %d, %v; want 51", n, err)
		}
	})

	t.Run("MembersPages", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		f.group("other", 0)
		var want []string
		for _, i := range []int{7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 4, 6} { // joined out of order
			u := fmt.Sprintf("u%02d", i)
			role := chat.RoleMember
			if i == 4 {
				role = chat.RoleBanned // banned members are listed
			}
			f.put("g", u, role)
			f.join("other", u+"x")
		}
		for i := range 12 {
			want = append(want, fmt.Sprintf("u%02d", i))
		}
		want = append([]string{owner}, want...) // "owner" < "u00"
		for _, limit := range []int{1, 5, 13, 100} {
			var got []string
			after := ""
			for page := 0; ; page++ {
				ms, err := f.s.Members(f.ctx, "g", after, limit)
				if err != nil {
					t.Fatalf("Members(after %q, limit %d): %v", after, limit, err)
				}
				if len(ms) > limit {
					t.Fatalf("Members(limit %d) returned %d", limit, len(ms))
				}
				for _, m := range ms {
					if m.Channel != "g" {
						t.Fatalf("Members(g) returned a member of %q", m.Channel)
					}
					got = append(got, m.User)
				}
				if len(ms) < limit || page > len(want) {
					break
				}
				after = ms[len(ms)-1].User
			}
			if !slices.Equal(got, want) {
				t.Errorf("Members pages of %d = %v, want %v", limit, got, want)
			}
		}
		ms, err := f.s.Members(f.ctx, "g", "u05", 3)
		if err != nil || len(ms) != 3 || ms[0].User != "u06" || ms[2].User != "u08" {
			t.Errorf("Members(after u05, 3) = %v, %v; want u06..u08", ms, err)
		} else {
			checkMember(t, "Members entry", ms[0], f.member("g", "u06"))
		}
		if ms, err := f.s.Members(f.ctx, "g", "u11", 10); err != nil || len(ms) != 0 {
			t.Errorf("Members after the last = %v, %v; want none", ms, err)
		}
		if ms, err := f.s.Members(f.ctx, "nope", "", 10); err != nil && !errors.Is(err, chat.ErrNotFound) || len(ms) != 0 {
			t.Errorf("Members(unknown channel) = %v, %v; want none", ms, err)
		}
	})

	t.Run("ConcurrentJoinsRespectCap", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 11) // owner + 10 of the 20
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			ok   int
			full int
		)
		start := make(chan struct{})
		for i := range 20 {
			wg.Go(func() {
				<-start
				_, err := f.s.PutMember(f.ctx, "g", fmt.Sprintf("u%02d", i), chat.RoleMember)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, chat.ErrFull):
					full++
				default:
					t.Errorf("PutMember u%02d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok != 10 || full != 10 {
			t.Errorf("%d joins succeeded and %d were ErrFull, want 10 and 10", ok, full)
		}
		if n, err := f.s.MemberCount(f.ctx, "g"); err != nil || n != 11 {
			t.Errorf("MemberCount = %d, %v; want 11", n, err)
		}
	})
}

func checkMember(t *testing.T, what string, got, want chat.Member) {
	t.Helper()
	if got.Channel != want.Channel || got.User != want.User || got.Role != want.Role ||
		got.ReadSeq != want.ReadSeq || got.DeliveredSeq != want.DeliveredSeq {
		t.Errorf("%s: got %+v\nwant %+v", what, got, want)
	}
	checkTime(t, what+" JoinedAt", got.JoinedAt, want.JoinedAt)
}
