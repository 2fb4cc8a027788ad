package chattest

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
)

func runMessages(t *testing.T, open Opener) {
	t.Run("MessageNotFound", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		f.group("h", 0)
		f.post("g", owner, 2)
		for _, tc := range []struct {
			channel string
			seq     uint64
		}{{"g", 0}, {"g", 3}, {"h", 1}, {"nope", 1}} {
			_, err := f.s.Message(f.ctx, tc.channel, tc.seq)
			wantErr(t, "Message("+tc.channel+")", err, chat.ErrNotFound)
		}
	})

	t.Run("Edit", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		in := f.newMsg("g", "alice")
		in.Attachments = []chat.Attachment{{URL: "u", Mime: "image/png", Size: 3}}
		in.ReplyTo = 7
		f.append(in)
		if _, err := f.s.React(f.ctx, "g", 1, "bob", "👍", true); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Pin(f.ctx, "g", 1, true); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Minute + 999*time.Nanosecond)
		got, err := f.s.Edit(f.ctx, "g", 1, "text/markdown", []byte("**new**"), at)
		if err != nil {
			t.Fatalf("Edit: %v", err)
		}
		want := expect(in, 1)
		want.ContentType, want.Body, want.EditedAt = "text/markdown", []byte("**new**"), at
		want.Pinned, want.Reactions = true, map[string]int{"👍": 1}
		checkMessage(t, "Edit", got, want)
		checkMessage(t, "Message after Edit", f.message("g", 1), want)

		at2 := at.Add(time.Second)
		want.ContentType, want.Body, want.EditedAt = "text/plain", []byte("third"), at2
		got, err = f.s.Edit(f.ctx, "g", 1, "text/plain", []byte("third"), at2)
		if err != nil {
			t.Fatalf("second Edit: %v", err)
		}
		checkMessage(t, "second Edit", got, want)

		_, err = f.s.Edit(f.ctx, "g", 2, "text/plain", nil, at)
		wantErr(t, "Edit(missing)", err, chat.ErrNotFound)
		_, err = f.s.Edit(f.ctx, "nope", 1, "text/plain", nil, at)
		wantErr(t, "Edit(unknown channel)", err, chat.ErrNotFound)
		if _, err := f.s.Delete(f.ctx, "g", 1); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.Edit(f.ctx, "g", 1, "text/plain", []byte("resurrect"), at)
		wantErr(t, "Edit(tombstone)", err, chat.ErrDeleted)
		if m := f.message("g", 1); !m.Deleted || m.Body != nil {
			t.Errorf("Edit of a tombstone changed it: %+v", m)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		in := f.newMsg("g", "alice")
		in.Attachments = []chat.Attachment{{URL: "u", Mime: "image/png", Size: 3}}
		f.append(in)
		keep := f.post("g", "bob", 1)[0]
		for _, u := range []string{"bob", "carol"} {
			if _, err := f.s.React(f.ctx, "g", 1, u, "❤️", true); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.s.React(f.ctx, "g", 2, "alice", "👍", true); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.Delete(f.ctx, "g", 1)
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		for what, m := range map[string]chat.Message{"Delete": got, "Message": f.message("g", 1)} {
			if !m.Deleted || m.Body != nil || len(m.Attachments) != 0 || m.Reactions != nil {
				t.Errorf("%s: not a tombstone: deleted %v, body %q, attachments %v, reactions %v",
					what, m.Deleted, m.Body, m.Attachments, m.Reactions)
			}
			if m.Seq != 1 || m.Channel != "g" || m.Sender != "alice" || m.ClientID != in.ClientID {
				t.Errorf("%s: tombstone lost its identity: %+v", what, m)
			}
			checkTime(t, what+" CreatedAt", m.CreatedAt, in.CreatedAt)
		}
		again, err := f.s.Delete(f.ctx, "g", 1)
		if err != nil {
			t.Errorf("second Delete: %v, want a no-op", err)
		}
		checkMessage(t, "second Delete", again, got)
		keep.Reactions = map[string]int{"👍": 1}
		checkMessage(t, "neighbour", f.message("g", 2), keep)
		if ls := f.channel("g").LastSeq; ls != 2 {
			t.Errorf("LastSeq %d after delete, want 2 (the sequence is kept)", ls)
		}
		_, err = f.s.Delete(f.ctx, "g", 3)
		wantErr(t, "Delete(missing)", err, chat.ErrNotFound)
		_, err = f.s.Delete(f.ctx, "nope", 1)
		wantErr(t, "Delete(unknown channel)", err, chat.ErrNotFound)
	})

	t.Run("React", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		f.post("g", owner, 2)
		steps := []struct {
			user, emoji string
			add         bool
			want        map[string]int
		}{
			{"u1", "👍", true, map[string]int{"👍": 1}},
			{"u1", "👍", true, map[string]int{"👍": 1}}, // twice = once
			{"u2", "👍", true, map[string]int{"👍": 2}},
			{"u1", "❤️", true, map[string]int{"👍": 2, "❤️": 1}},
			{"u3", "👍", false, map[string]int{"👍": 2, "❤️": 1}}, // absent: no-op
			{"u1", "😂", false, map[string]int{"👍": 2, "❤️": 1}},
			{"u1", "👍", false, map[string]int{"👍": 1, "❤️": 1}},
			{"u3", "🔥", true, map[string]int{"👍": 1, "❤️": 1, "🔥": 1}},
		}
		for i, s := range steps {
			got, err := f.s.React(f.ctx, "g", 1, s.user, s.emoji, s.add)
			if err != nil {
				t.Fatalf("step %d: React: %v", i, err)
			}
			if !maps.Equal(got, s.want) {
				t.Errorf("step %d: React(%s %s %v) = %v, want %v", i, s.user, s.emoji, s.add, got, s.want)
			}
		}
		if m := f.message("g", 1); !maps.Equal(m.Reactions, steps[len(steps)-1].want) {
			t.Errorf("Message reactions %v", m.Reactions)
		}
		if m := f.message("g", 2); m.Reactions != nil {
			t.Errorf("reactions leaked to message 2: %v", m.Reactions)
		}
		for _, r := range [][2]string{{"u1", "❤️"}, {"u2", "👍"}, {"u3", "🔥"}} {
			if _, err := f.s.React(f.ctx, "g", 1, r[0], r[1], false); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := f.s.React(f.ctx, "g", 1, "u9", "👍", false); err != nil || len(got) != 0 {
			t.Errorf("React after removing all = %v, %v; want none", got, err)
		}
		if m := f.message("g", 1); m.Reactions != nil {
			t.Errorf("Message reactions after removing all = %v, want nil", m.Reactions)
		}
		_, err := f.s.React(f.ctx, "g", 3, "u1", "👍", true)
		wantErr(t, "React(missing)", err, chat.ErrNotFound)
		_, err = f.s.React(f.ctx, "nope", 1, "u1", "👍", true)
		wantErr(t, "React(unknown channel)", err, chat.ErrNotFound)
		if _, err := f.s.Delete(f.ctx, "g", 2); err != nil {
			t.Fatal(err)
		}
		for _, add := range []bool{true, false} {
			_, err = f.s.React(f.ctx, "g", 2, "u1", "👍", add)
			wantErr(t, "React(tombstone)", err, chat.ErrDeleted)
		}
	})

	t.Run("Pin", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		f.group("h", 0)
		stored := f.post("g", owner, 6)
		f.post("h", owner, 3)
		for _, p := range []struct {
			seq uint64
			on  bool
		}{{5, true}, {1, true}, {3, true}, {3, true}, {5, false}, {6, false}} {
			if err := f.s.Pin(f.ctx, "g", p.seq, p.on); err != nil {
				t.Fatalf("Pin(%d, %v): %v", p.seq, p.on, err)
			}
		}
		if err := f.s.Pin(f.ctx, "h", 2, true); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.Pinned(f.ctx, "g")
		if err != nil {
			t.Fatalf("Pinned: %v", err)
		}
		if !slices.Equal(seqsOf(got), []uint64{1, 3}) {
			t.Fatalf("Pinned = %v, want [1 3]", seqsOf(got))
		}
		for _, m := range got {
			want := stored[m.Seq-1]
			want.Pinned = true
			checkMessage(t, "Pinned", m, want)
		}
		if m := f.message("g", 5); m.Pinned {
			t.Errorf("message 5 still pinned")
		}
		if !f.message("g", 3).Pinned {
			t.Errorf("Message(3).Pinned = false")
		}
		if ms, err := f.s.Pinned(f.ctx, "nope"); err != nil && !errors.Is(err, chat.ErrNotFound) || len(ms) != 0 {
			t.Errorf("Pinned(unknown channel) = %v, %v; want none", ms, err)
		}
		wantErr(t, "Pin(missing)", f.s.Pin(f.ctx, "g", 7, true), chat.ErrNotFound)
		wantErr(t, "Pin(unknown channel)", f.s.Pin(f.ctx, "nope", 1, true), chat.ErrNotFound)
	})
}
