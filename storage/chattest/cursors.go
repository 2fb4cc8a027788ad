package chattest

import (
	"context"
	"slices"
	"testing"

	"github.com/salamhq/salam/core/chat"
)

// cursorMove is MoveRead or MoveDelivered.
type cursorMove func(s chat.Store, ctx context.Context, channel, user string, seq uint64) (uint64, bool, error)

func runCursors(t *testing.T, open Opener) {
	for _, c := range []struct {
		name          string
		move          cursorMove
		moved, stayed func(chat.Member) uint64
	}{
		{"MoveRead", chat.Store.MoveRead,
			func(m chat.Member) uint64 { return m.ReadSeq }, func(m chat.Member) uint64 { return m.DeliveredSeq }},
		{"MoveDelivered", chat.Store.MoveDelivered,
			func(m chat.Member) uint64 { return m.DeliveredSeq }, func(m chat.Member) uint64 { return m.ReadSeq }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, open)
			f.group("g", 0)
			f.group("empty", 0)
			f.join("g", "u1")
			f.join("empty", "u1")
			f.post("g", owner, 5)
			for i, s := range []struct {
				post  int // messages appended before the move
				to    uint64
				want  uint64
				moved bool
			}{
				{0, 3, 3, true},
				{0, 2, 3, false}, // never back
				{0, 3, 3, false}, // same place
				{0, 0, 3, false},
				{0, 100, 5, true}, // clamped to LastSeq
				{0, 100, 5, false},
				{2, 6, 6, true},
				{0, 1 << 62, 7, true},
			} {
				if s.post > 0 {
					f.post("g", owner, s.post)
				}
				got, moved, err := c.move(f.s, f.ctx, "g", "u1", s.to)
				if err != nil {
					t.Fatalf("step %d: %s(%d): %v", i, c.name, s.to, err)
				}
				if got != s.want || moved != s.moved {
					t.Errorf("step %d: %s(%d) = %d, moved %v; want %d, moved %v", i, c.name, s.to, got, moved, s.want, s.moved)
				}
				m := f.member("g", "u1")
				if c.moved(m) != s.want || c.stayed(m) != 0 {
					t.Errorf("step %d: member %+v: the other cursor must stay 0", i, m)
				}
			}
			if got, moved, err := c.move(f.s, f.ctx, "empty", "u1", 5); err != nil || got != 0 || moved {
				t.Errorf("%s in an empty channel = %d, moved %v, %v; want 0, false", c.name, got, moved, err)
			}
			_, _, err := c.move(f.s, f.ctx, "g", "stranger", 1)
			wantErr(t, c.name+"(non-member)", err, chat.ErrNotFound)
			_, _, err = c.move(f.s, f.ctx, "nope", "u1", 1)
			wantErr(t, c.name+"(unknown channel)", err, chat.ErrNotFound)
			if err := f.s.RemoveMember(f.ctx, "g", "u1"); err != nil {
				t.Fatal(err)
			}
			_, _, err = c.move(f.s, f.ctx, "g", "u1", 1)
			wantErr(t, c.name+"(removed member)", err, chat.ErrNotFound)
		})
	}

	t.Run("Unread", func(t *testing.T) {
		f := setup(t, open)
		for _, id := range []string{"c", "a", "e", "b", "d"} {
			f.group(id, 0)
		}
		f.join("c", "u1")
		f.join("a", "u1")
		f.join("b", "u1")
		f.put("d", "u1", chat.RoleBanned) // banned: not listed
		f.post("c", owner, 5)
		f.post("b", owner, 3)
		f.post("d", owner, 4)
		f.post("e", owner, 1) // not a member
		if _, _, err := f.s.MoveRead(f.ctx, "c", "u1", 2); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.s.MoveRead(f.ctx, "b", "u1", 3); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.s.MoveDelivered(f.ctx, "c", "u1", 5); err != nil { // delivered is not read
			t.Fatal(err)
		}
		want := []chat.Unread{
			{Channel: "a", LastSeq: 0, ReadSeq: 0, Count: 0},
			{Channel: "b", LastSeq: 3, ReadSeq: 3, Count: 0},
			{Channel: "c", LastSeq: 5, ReadSeq: 2, Count: 3},
		}
		got, err := f.s.Unread(f.ctx, "u1")
		if err != nil {
			t.Fatalf("Unread: %v", err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Unread(u1) = %+v\nwant %+v", got, want)
		}
		f.post("a", owner, 2)
		got, err = f.s.Unread(f.ctx, "u1")
		if err != nil || len(got) != 3 || got[0] != (chat.Unread{Channel: "a", LastSeq: 2, Count: 2}) {
			t.Errorf("Unread(u1) after 2 messages in a = %+v, %v", got, err)
		}
		if got, err := f.s.Unread(f.ctx, "nobody"); err != nil || len(got) != 0 {
			t.Errorf("Unread(nobody) = %+v, %v; want none", got, err)
		}
	})
}
