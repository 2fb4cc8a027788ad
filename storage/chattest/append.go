package chattest

import (
	"slices"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
)

func runAppend(t *testing.T, open Opener) {
	t.Run("Sequences", func(t *testing.T) {
		f := setup(t, open)
		f.group("a", 0)
		f.group("b", 0)
		if got := seqsOf(f.post("a", owner, 5)); !slices.Equal(got, seqRange(1, 5)) {
			t.Errorf("first batch of a: seqs %v, want 1..5", got)
		}
		if got := seqsOf(f.post("b", owner, 3)); !slices.Equal(got, seqRange(1, 3)) {
			t.Errorf("first batch of b: seqs %v, want 1..3 (independent of a)", got)
		}
		if got := seqsOf(f.post("a", owner, 2)); !slices.Equal(got, seqRange(6, 7)) {
			t.Errorf("second batch of a: seqs %v, want 6..7", got)
		}
		if a, b := f.channel("a").LastSeq, f.channel("b").LastSeq; a != 7 || b != 3 {
			t.Errorf("LastSeq a=%d b=%d, want 7 and 3", a, b)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		f.post("g", owner, 1)
		in := chat.NewMessage{
			Channel: "g", Sender: "alice", ClientID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			ContentType: "application/x-salam-e2e", Body: []byte{0, 1, 2, 0xff, 0xfe, 0},
			Attachments: []chat.Attachment{
				{URL: "https://cdn.example/a.jpg", Mime: "image/jpeg", Size: 1 << 20, Name: "a.jpg"},
				{URL: "https://cdn.example/v.ogg", Mime: "audio/ogg", Size: 31337}, // a voice note, no name
			},
			ReplyTo: 1, CreatedAt: base.Add(1500 * time.Nanosecond),
		}
		r := f.append(in)[0]
		if r.Err != nil || r.Duplicate {
			t.Fatalf("Append: err %v, duplicate %v", r.Err, r.Duplicate)
		}
		want := expect(in, 2)
		checkMessage(t, "Append result", r.Message, want)
		got := f.message("g", 2)
		checkMessage(t, "Message", got, want)
		if got.Reactions != nil || got.EditedAt != (time.Time{}) {
			t.Errorf("new message has reactions %v, edited %v", got.Reactions, got.EditedAt)
		}
	})

	t.Run("EmptyBodies", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		nilBody := chat.NewMessage{Channel: "g", Sender: "u", ClientID: "nil", ContentType: "text/plain", CreatedAt: base}
		empty := nilBody
		empty.ClientID, empty.Body = "empty", []byte{}
		for i, r := range f.append(nilBody, empty) {
			if r.Err != nil || r.Duplicate || r.Message.Seq != uint64(i+1) || len(r.Message.Body) != 0 {
				t.Errorf("result %d: %+v", i, r)
			}
			if m := f.message("g", uint64(i+1)); len(m.Body) != 0 || m.Deleted {
				t.Errorf("message %d: body %q, deleted %v", i+1, m.Body, m.Deleted)
			}
		}
		// An empty body is the same content as no body.
		nilBody.Body, empty.Body = []byte{}, nil
		for i, r := range f.append(nilBody, empty) {
			if r.Err != nil || !r.Duplicate || r.Message.Seq != uint64(i+1) {
				t.Errorf("retry %d: %+v; want a duplicate of #%d", i, r, i+1)
			}
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		in := f.newMsg("g", "alice")
		in.Attachments = []chat.Attachment{{URL: "u", Mime: "image/png", Size: 1}}
		first := f.append(in)[0].Message
		retry := in
		retry.CreatedAt = base.Add(time.Hour) // the time of the retry is not content
		r := f.append(retry)[0]
		if r.Err != nil || !r.Duplicate {
			t.Fatalf("retry: err %v, duplicate %v; want a duplicate", r.Err, r.Duplicate)
		}
		checkMessage(t, "retry result", r.Message, first)
		if ls := f.channel("g").LastSeq; ls != 1 {
			t.Errorf("LastSeq %d after a duplicate, want 1", ls)
		}
		if got := seqsOf(f.post("g", "alice", 1)); got[0] != 2 {
			t.Errorf("next message got seq %d, want 2 (no sequence consumed)", got[0])
		}
		// The same client id from another sender is another message.
		other := in
		other.Sender = "bob"
		if r := f.append(other)[0]; r.Err != nil || r.Duplicate || r.Message.Seq != 3 {
			t.Errorf("same client id, other sender: %+v; want new message #3", r)
		}
	})

	t.Run("Conflict", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		f.group("h", 0)
		orig := f.newMsg("g", "alice")
		orig.ReplyTo = 0
		orig.Attachments = []chat.Attachment{{URL: "u1", Mime: "image/png", Size: 10}}
		f.append(orig)
		f.post("g", owner, 1) // so that a reply-to of 2 exists
		for _, tc := range []struct {
			name   string
			change func(m *chat.NewMessage)
		}{
			{"Body", func(m *chat.NewMessage) { m.Body = []byte("edited") }},
			{"ContentType", func(m *chat.NewMessage) { m.ContentType = "text/markdown" }},
			{"AttachmentAdded", func(m *chat.NewMessage) {
				m.Attachments = append(slices.Clone(m.Attachments), chat.Attachment{URL: "u2", Mime: "a", Size: 1})
			}},
			{"AttachmentsNone", func(m *chat.NewMessage) { m.Attachments = nil }},
			{"AttachmentSize", func(m *chat.NewMessage) { m.Attachments = []chat.Attachment{{URL: "u1", Mime: "image/png", Size: 11}} }},
			{"AttachmentName", func(m *chat.NewMessage) {
				m.Attachments = []chat.Attachment{{URL: "u1", Mime: "image/png", Size: 10, Name: "n"}}
			}},
			{"ReplyTo", func(m *chat.NewMessage) { m.ReplyTo = 2 }},
			{"Channel", func(m *chat.NewMessage) { m.Channel = "h" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := orig
				tc.change(&m)
				r := f.append(m)[0]
				wantErr(t, "Append", r.Err, chat.ErrConflict)
				if r.Duplicate || r.Message.Seq != 0 {
					t.Errorf("conflict result %+v, want only Err", r)
				}
				if g, h := f.channel("g").LastSeq, f.channel("h").LastSeq; g != 2 || h != 0 {
					t.Errorf("LastSeq g=%d h=%d after a conflict, want 2 and 0", g, h)
				}
			})
		}
		checkMessage(t, "original after conflicts", f.message("g", 1), expect(orig, 1))
	})

	t.Run("UnknownChannel", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		batch := []chat.NewMessage{f.newMsg("g", "u"), f.newMsg("nope", "u"), f.newMsg("g", "u")}
		res := f.append(batch...)
		wantErr(t, "result 1", res[1].Err, chat.ErrNotFound)
		if res[1].Duplicate || res[1].Message.Seq != 0 {
			t.Errorf("not-found result %+v, want only Err", res[1])
		}
		for i, seq := range map[int]uint64{0: 1, 2: 2} {
			if res[i].Err != nil || res[i].Message.Seq != seq {
				t.Errorf("result %d: seq %d, %v; want %d", i, res[i].Message.Seq, res[i].Err, seq)
			}
			checkMessage(t, "stored", f.message("g", seq), expect(batch[i], seq))
		}
		// The key of the rejected message was not taken.
		retry := batch[1]
		retry.Channel = "g"
		if r := f.append(retry)[0]; r.Err != nil || r.Duplicate || r.Message.Seq != 3 {
			t.Errorf("rejected key reused in an existing channel: %+v; want new message #3", r)
		}
	})

	t.Run("MixedBatch", func(t *testing.T) {
		f := setup(t, open)
		f.group("a", 0)
		f.group("b", 0)
		stored := f.newMsg("b", "u1")
		f.append(stored) // b #1
		a1, b2, a2 := f.newMsg("a", "u1"), f.newMsg("b", "u2"), f.newMsg("a", "u2")
		clash := a1
		clash.Body = []byte("other body")
		clashStored := stored
		clashStored.ContentType = "text/other"
		batch := []chat.NewMessage{
			a1,                     // 0: a #1
			b2,                     // 1: b #2
			stored,                 // 2: duplicate of b #1 (earlier batch)
			a1,                     // 3: duplicate of result 0 (same batch)
			a2,                     // 4: a #2
			clash,                  // 5: conflict with result 0
			clashStored,            // 6: conflict with b #1
			f.newMsg("nope", "u3"), // 7: not found
			a1,                     // 8: duplicate of result 0 again
		}
		res := f.append(batch...)
		type want struct {
			seq uint64
			dup bool
			err error
		}
		for i, w := range []want{{1, false, nil}, {2, false, nil}, {1, true, nil}, {1, true, nil}, {2, false, nil},
			{0, false, chat.ErrConflict}, {0, false, chat.ErrConflict}, {0, false, chat.ErrNotFound}, {1, true, nil}} {
			r := res[i]
			if w.err != nil {
				wantErr(t, "result", r.Err, w.err)
				continue
			}
			if r.Err != nil || r.Duplicate != w.dup || r.Message.Seq != w.seq {
				t.Errorf("result %d: seq %d, duplicate %v, err %v; want seq %d, duplicate %v", i, r.Message.Seq, r.Duplicate, r.Err, w.seq, w.dup)
				continue
			}
			src := batch[i]
			if i == 2 {
				src = stored
			}
			checkMessage(t, "result", r.Message, expect(src, w.seq))
		}
		if a, b := f.channel("a").LastSeq, f.channel("b").LastSeq; a != 2 || b != 2 {
			t.Errorf("LastSeq a=%d b=%d, want 2 and 2", a, b)
		}
	})

	t.Run("EmptyBatch", func(t *testing.T) {
		f := setup(t, open)
		res, err := f.s.Append(f.ctx, nil)
		if err != nil || len(res) != 0 {
			t.Errorf("Append(nil) = %v, %v; want no results", res, err)
		}
	})

	// Reading: a retry is compared with the message as it was appended, so
	// that a send retried after its message was edited or deleted is still a
	// duplicate (of the message as it is now), not a conflict.
	t.Run("RetryAfterEditOrDelete", func(t *testing.T) {
		f := setup(t, open)
		f.group("g", 0)
		edited, deleted := f.newMsg("g", "u"), f.newMsg("g", "u")
		f.append(edited, deleted)
		now, err := f.s.Edit(f.ctx, "g", 1, "text/markdown", []byte("*edited*"), base.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		gone, err := f.s.Delete(f.ctx, "g", 2)
		if err != nil {
			t.Fatal(err)
		}
		res := f.append(edited, deleted)
		for i, want := range []chat.Message{now, gone} {
			if res[i].Err != nil || !res[i].Duplicate {
				t.Errorf("retry %d: err %v, duplicate %v; want a duplicate", i, res[i].Err, res[i].Duplicate)
				continue
			}
			checkMessage(t, "retry", res[i].Message, want)
		}
	})
}
