package chat_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/wire"
)

func TestRESTSendIsDurableAndIdempotent(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice", "bob")
	events := f.events("team")
	send := map[string]any{"client_id": "c-1", "body": "salam 👋", "content_type": "text/markdown",
		"attachments": []map[string]any{{"url": "https://files.example/v.ogg", "mime": "audio/ogg", "size": 4096, "name": "voice"}}}

	r := f.do("alice", "POST", "/v1/channels/team/messages", send)
	m := must[messageJSON](t, r, http.StatusCreated)
	if m.Seq != 1 || m.Channel != "team" || m.Sender != "alice" || m.ClientID != "c-1" || m.ContentType != "text/markdown" ||
		m.Body == nil || *m.Body != "salam 👋" || len(m.Attachments) != 1 || m.Attachments[0].Size != 4096 || m.Deleted || m.Pinned {
		t.Fatalf("sent %+v", m)
	}
	if r.header.Get("Location") != "/v1/channels/team/messages/1" {
		t.Fatalf("Location %q", r.header.Get("Location"))
	}
	// Stored before the response, and announced.
	if stored, err := f.store.Message(context.Background(), "team", 1); err != nil || string(stored.Body) != "salam 👋" {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	msg, err := events.NextMsg(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ev wire.Frame
	if err := wire.Msgpack.Decode(msg.Data, &ev); err != nil || ev.Kind != wire.EventMessage || ev.Seq != 1 || ev.MsgID != "c-1" {
		t.Fatalf("event %+v, %v", ev, err)
	}

	// A retry returns the original with 200 and stores nothing new.
	if again := must[messageJSON](t, f.do("alice", "POST", "/v1/channels/team/messages", send), http.StatusOK); again.Seq != 1 || again.CreatedAt != m.CreatedAt {
		t.Fatalf("retry %+v, want %+v", again, m)
	}
	// The same client id with other content is a conflict; nothing is stored.
	send["body"] = "changed"
	wantProblem(t, f.do("alice", "POST", "/v1/channels/team/messages", send), http.StatusConflict, wire.CodeConflict)
	if ch, _ := f.store.Channel(context.Background(), "team"); ch.LastSeq != 1 {
		t.Fatalf("last seq %d after a retry and a conflict", ch.LastSeq)
	}
	// Client ids are per sender.
	if b := f.sendText("team", "bob", "c-1", "mine"); b.Seq != 2 {
		t.Fatalf("bob's c-1 got seq %d", b.Seq)
	}
	f.wantQuiet(events)
}

func TestRESTSendBodies(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice")
	cipher := []byte{0x00, 0xff, 0xfe, 0x80, 0x01}
	m := must[messageJSON](t, f.do("alice", "POST", "/v1/channels/team/messages", map[string]any{
		"client_id": "e2ee", "content_type": "application/x-salam-signal", "body_b64": base64.StdEncoding.EncodeToString(cipher)}), http.StatusCreated)
	if m.Body != nil || m.BodyB64 != base64.StdEncoding.EncodeToString(cipher) {
		t.Fatalf("binary body came back as %+v", m)
	}
	if stored, _ := f.store.Message(context.Background(), "team", m.Seq); string(stored.Body) != string(cipher) {
		t.Fatalf("stored %x", stored.Body)
	}
	// A UTF-8 body sent as base64 reads back as text.
	m = must[messageJSON](t, f.do("alice", "POST", "/v1/channels/team/messages", map[string]any{
		"client_id": "b64", "body_b64": base64.StdEncoding.EncodeToString([]byte("سلام"))}), http.StatusCreated)
	if m.Body == nil || *m.Body != "سلام" || m.ContentType != "text/plain" {
		t.Fatalf("utf-8 via base64 %+v", m)
	}
	// Attachments alone make a message (a voice note).
	m = must[messageJSON](t, f.do("alice", "POST", "/v1/channels/team/messages", map[string]any{
		"client_id": "voice", "attachments": []map[string]any{{"url": "https://files.example/a.ogg", "mime": "audio/ogg", "size": 1}}}), http.StatusCreated)
	if m.Body != nil || len(m.Attachments) != 1 {
		t.Fatalf("voice note %+v", m)
	}
	reply := must[messageJSON](t, f.do("alice", "POST", "/v1/channels/team/messages", map[string]any{"client_id": "re", "body": "yes", "reply_to": 1}), http.StatusCreated)
	if reply.ReplyTo != 1 {
		t.Fatalf("reply %+v", reply)
	}

	tests := []struct {
		name   string
		user   string
		path   string
		body   any
		status int
		code   wire.Code
	}{
		{"unknown channel", "alice", "/v1/channels/nowhere/messages", map[string]any{"client_id": "x", "body": "hi"}, http.StatusNotFound, wire.CodeChannelNotFound},
		{"non-member", "mallory", "/v1/channels/team/messages", map[string]any{"client_id": "x", "body": "hi"}, http.StatusForbidden, wire.CodeNotMember},
		{"oversize body", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x", "body": strings.Repeat("a", 64<<10+1)}, http.StatusRequestEntityTooLarge, wire.CodeTooLarge},
		{"oversize base64 body", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x", "body_b64": base64.StdEncoding.EncodeToString(make([]byte, 64<<10+1))}, http.StatusRequestEntityTooLarge, wire.CodeTooLarge},
		{"no client id", "alice", "/v1/channels/team/messages", map[string]any{"body": "hi"}, http.StatusBadRequest, wire.CodeBadFrame},
		{"long client id", "alice", "/v1/channels/team/messages", map[string]any{"client_id": strings.Repeat("i", 65), "body": "hi"}, http.StatusBadRequest, wire.CodeBadFrame},
		{"no body", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x"}, http.StatusBadRequest, wire.CodeBadFrame},
		{"both bodies", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x", "body": "a", "body_b64": "YQ=="}, http.StatusBadRequest, wire.CodeBadFrame},
		{"bad base64", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x", "body_b64": "not base64!"}, http.StatusBadRequest, wire.CodeBadFrame},
		{"empty content type", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x", "body": "a", "content_type": ""}, http.StatusBadRequest, wire.CodeBadFrame},
		{"attachment without url", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x", "attachments": []map[string]any{{"mime": "image/png"}}}, http.StatusBadRequest, wire.CodeBadFrame},
		{"attachment unknown field", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x", "attachments": []map[string]any{{"url": "u", "blob": "AAAA"}}}, http.StatusBadRequest, wire.CodeBadFrame},
		{"reply to nothing", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x", "body": "a", "reply_to": 99}, http.StatusNotFound, wire.CodeMessageNotFound},
		{"unknown field", "alice", "/v1/channels/team/messages", map[string]any{"client_id": "x", "body": "a", "text": "a"}, http.StatusBadRequest, wire.CodeBadFrame},
		{"malformed", "alice", "/v1/channels/team/messages", `{"client_id": "x", "body": }`, http.StatusBadRequest, wire.CodeBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := f.with(t)
			wantProblem(t, f.do(tt.user, "POST", tt.path, tt.body), tt.status, tt.code)
		})
	}
	if ch, _ := f.store.Channel(context.Background(), "team"); ch.LastSeq != 4 {
		t.Fatalf("refused sends stored something: last seq %d", ch.LastSeq)
	}
}

func TestRESTHistory(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice", "bob")
	for i := 1; i <= 7; i++ {
		f.sendText("team", "alice", fmt.Sprint("c", i), fmt.Sprint("m", i))
	}
	seqs := func(p messagesJSON) string {
		var s []string
		for _, m := range p.Messages {
			s = append(s, fmt.Sprint(m.Seq))
		}
		return strings.Join(s, ",") + fmt.Sprintf(" more=%v", p.More)
	}
	tests := []struct{ query, want string }{
		{"", "7,6,5,4,3,2,1 more=false"},
		{"?limit=3", "7,6,5 more=true"},
		{"?limit=3&order=asc", "1,2,3 more=true"}, // no cursor + asc: from the first message
		{"?before=4", "3,2,1 more=false"},
		{"?before=6&limit=2&order=asc", "4,5 more=true"},
		{"?after=5&order=asc", "6,7 more=false"},
		{"?after=2&limit=2&order=asc", "3,4 more=true"},
		{"?after=2&limit=2", "4,3 more=true"},
		{"?around=4&limit=3&order=asc", "3,4,5 more=true"},
		{"?limit=200&order=desc", "7,6,5,4,3,2,1 more=false"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			f := f.with(t)
			if got := seqs(must[messagesJSON](t, f.do("bob", "GET", "/v1/channels/team/messages"+tt.query, nil), http.StatusOK)); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
	page := must[messagesJSON](t, f.do("bob", "GET", "/v1/channels/team/messages?limit=1", nil), http.StatusOK)
	if m := page.Messages[0]; m.Body == nil || *m.Body != "m7" || m.Sender != "alice" || m.ClientID != "c7" {
		t.Fatalf("newest %+v", m)
	}
	for _, q := range []string{"before=2&after=1", "before=2&around=1", "after=1&around=2", "limit=0", "limit=201", "limit=abc",
		"before=abc", "before=-1", "before=0", "after=1.5", "around=99999999999999999999", "order=sideways"} {
		t.Run(q, func(t *testing.T) {
			f := f.with(t)
			wantProblem(t, f.do("bob", "GET", "/v1/channels/team/messages?"+q, nil), http.StatusBadRequest, wire.CodeBadFrame)
		})
	}
	wantProblem(t, f.do("mallory", "GET", "/v1/channels/team/messages", nil), http.StatusForbidden, wire.CodeNotMember)
	wantProblem(t, f.do("bob", "GET", "/v1/channels/nowhere/messages", nil), http.StatusNotFound, wire.CodeChannelNotFound)

	// A public broadcast channel is readable by anyone.
	must[channelJSON](t, f.do("alice", "POST", "/v1/channels", map[string]any{"id": "live", "kind": "broadcast", "name": "Live", "public": true}), http.StatusCreated)
	f.sendText("live", "alice", "l1", "welcome")
	if p := must[messagesJSON](t, f.do("viewer", "GET", "/v1/channels/live/messages", nil), http.StatusOK); len(p.Messages) != 1 {
		t.Fatalf("viewer read %+v", p)
	}
	wantProblem(t, f.do("viewer", "POST", "/v1/channels/live/messages", map[string]any{"client_id": "v", "body": "hi"}), http.StatusForbidden, wire.CodeNotMember)
}

func TestRESTEditAndDelete(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice", "bob", "carol")
	f.sendText("team", "bob", "b1", "helo")
	f.sendText("team", "carol", "c1", "hi")
	events := f.events("team")

	r := f.do("bob", "PATCH", "/v1/channels/team/messages/1", map[string]any{"body": "hello"})
	m := must[messageJSON](t, r, http.StatusOK)
	if *m.Body != "hello" || m.EditedAt == "" || m.ContentType != "text/plain" || m.ClientID != "b1" {
		t.Fatalf("edited %+v", m)
	}
	ev := f.wantEvent(events, wire.EventEdited, 1, "bob")
	if string(ev.Data) != "hello" || ev.Channel != "team" || ev.ContentType != "" {
		t.Fatalf("edit event %+v", ev)
	}
	m = must[messageJSON](t, f.do("bob", "PATCH", "/v1/channels/team/messages/1", map[string]any{"body_b64": "//4=", "content_type": "application/octet-stream"}), http.StatusOK)
	if m.BodyB64 != "//4=" || m.ContentType != "application/octet-stream" {
		t.Fatalf("binary edit %+v", m)
	}
	if ev := f.wantEvent(events, wire.EventEdited, 1, "bob"); ev.ContentType != "application/octet-stream" || string(ev.Data) != "\xff\xfe" {
		t.Fatalf("binary edit event %+v", ev)
	}

	edit := func(user, seq string, body any) reply {
		return f.do(user, "PATCH", "/v1/channels/team/messages/"+seq, body)
	}
	wantProblem(t, edit("alice", "1", map[string]any{"body": "mine now"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, edit("mallory", "1", map[string]any{"body": "x"}), http.StatusForbidden, wire.CodeNotMember)
	wantProblem(t, edit("bob", "99", map[string]any{"body": "x"}), http.StatusNotFound, wire.CodeMessageNotFound)
	wantProblem(t, edit("bob", "x", map[string]any{"body": "x"}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, edit("bob", "0", map[string]any{"body": "x"}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, edit("bob", "1", map[string]any{}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, edit("bob", "1", map[string]any{"body": strings.Repeat("a", 64<<10+1)}), http.StatusRequestEntityTooLarge, wire.CodeTooLarge)
	wantProblem(t, edit("bob", "1", `{"body": "x", "sender": "alice"}`), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, f.do("bob", "PATCH", "/v1/channels/nowhere/messages/1", map[string]any{"body": "x"}), http.StatusNotFound, wire.CodeChannelNotFound)

	// Delete: the sender, or an owner or admin; not another member.
	wantProblem(t, f.do("carol", "DELETE", "/v1/channels/team/messages/1", nil), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("mallory", "DELETE", "/v1/channels/team/messages/1", nil), http.StatusForbidden, wire.CodeNotMember)
	wantProblem(t, f.do("bob", "DELETE", "/v1/channels/team/messages/99", nil), http.StatusNotFound, wire.CodeMessageNotFound)
	m = must[messageJSON](t, f.do("alice", "DELETE", "/v1/channels/team/messages/2", nil), http.StatusOK)
	if !m.Deleted || m.Body != nil || m.BodyB64 != "" || m.Seq != 2 {
		t.Fatalf("tombstone %+v", m)
	}
	f.wantEvent(events, wire.EventDeleted, 2, "alice")
	must[messageJSON](t, f.do("bob", "DELETE", "/v1/channels/team/messages/1", nil), http.StatusOK)
	f.wantEvent(events, wire.EventDeleted, 1, "bob")
	// Again: the tombstone, and no second event.
	if m := must[messageJSON](t, f.do("bob", "DELETE", "/v1/channels/team/messages/1", nil), http.StatusOK); !m.Deleted {
		t.Fatalf("second delete %+v", m)
	}
	wantProblem(t, edit("bob", "1", map[string]any{"body": "back"}), http.StatusGone, wire.CodeMessageDeleted)
	f.wantQuiet(events)

	// Tombstones keep their place in history.
	page := must[messagesJSON](t, f.do("carol", "GET", "/v1/channels/team/messages?order=asc", nil), http.StatusOK)
	if len(page.Messages) != 2 || !page.Messages[0].Deleted || !page.Messages[1].Deleted {
		t.Fatalf("history after deletes %+v", page)
	}

	// A sender who left may still erase what they wrote.
	f.sendText("team", "carol", "c2", "regret")
	must[any](t, f.do("carol", "DELETE", "/v1/channels/team/members/carol", nil), http.StatusNoContent)
	f.wantEvent(events, wire.EventMemberLeft, 0, "carol")
	must[messageJSON](t, f.do("carol", "DELETE", "/v1/channels/team/messages/3", nil), http.StatusOK)
	f.wantEvent(events, wire.EventDeleted, 3, "carol")
}

func TestRESTReactions(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice", "bob")
	f.sendText("team", "alice", "a1", "news")
	events := f.events("team")
	react := func(user, method, emoji string) reply {
		return f.do(user, method, "/v1/channels/team/messages/1/reactions/"+url.PathEscape(emoji), nil)
	}
	type counts struct {
		Reactions map[string]int `json:"reactions"`
	}

	if c := must[counts](t, react("bob", "PUT", "👍"), http.StatusOK); c.Reactions["👍"] != 1 || len(c.Reactions) != 1 {
		t.Fatalf("counts %+v", c)
	}
	f.wantEvent(events, wire.EventReactions, 1, "bob")
	must[counts](t, react("alice", "PUT", "👍"), http.StatusOK)
	f.wantEvent(events, wire.EventReactions, 1, "alice")
	c := must[counts](t, react("alice", "PUT", "❤️"), http.StatusOK)
	if c.Reactions["👍"] != 2 || c.Reactions["❤️"] != 1 {
		t.Fatalf("counts %+v", c)
	}
	ev := f.wantEvent(events, wire.EventReactions, 1, "alice")
	if len(ev.Reactions) != 2 || ev.Reactions[0].Emoji != "❤️" || ev.Reactions[1].Emoji != "👍" || ev.Reactions[1].Count != 2 {
		t.Fatalf("reactions event not sorted by emoji: %+v", ev.Reactions)
	}
	// Reacting twice changes nothing and announces nothing.
	must[counts](t, react("alice", "PUT", "👍"), http.StatusOK)
	f.wantQuiet(events)

	if c := must[counts](t, react("alice", "DELETE", "❤️"), http.StatusOK); len(c.Reactions) != 1 || c.Reactions["👍"] != 2 {
		t.Fatalf("after removal %+v", c)
	}
	f.wantEvent(events, wire.EventReactions, 1, "alice")
	must[counts](t, react("bob", "DELETE", "👍"), http.StatusOK)
	ev = f.wantEvent(events, wire.EventReactions, 1, "bob")
	if len(ev.Reactions) != 1 || ev.Reactions[0].Count != 1 {
		t.Fatalf("event %+v", ev.Reactions)
	}
	m := must[messagesJSON](t, f.do("bob", "GET", "/v1/channels/team/messages", nil), http.StatusOK).Messages[0]
	if len(m.Reactions) != 1 || m.Reactions["👍"] != 1 {
		t.Fatalf("message reactions %+v", m.Reactions)
	}

	wantProblem(t, react("bob", "PUT", strings.Repeat("🎉", 17)), http.StatusBadRequest, wire.CodeBadFrame) // 68 bytes
	wantProblem(t, react("bob", "PUT", "a b"), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, react("mallory", "PUT", "👍"), http.StatusForbidden, wire.CodeNotMember)
	wantProblem(t, f.do("bob", "PUT", "/v1/channels/team/messages/9/reactions/x", nil), http.StatusNotFound, wire.CodeMessageNotFound)
	wantProblem(t, f.do("bob", "PUT", "/v1/channels/nowhere/messages/1/reactions/x", nil), http.StatusNotFound, wire.CodeChannelNotFound)

	// At most wire.MaxReactions different reactions, what one frame carries.
	for i := range wire.MaxReactions - 1 {
		must[counts](t, react("bob", "PUT", fmt.Sprint("e", i)), http.StatusOK)
	}
	wantProblem(t, react("bob", "PUT", "one-too-many"), http.StatusConflict, wire.CodeTooLarge)
	must[counts](t, react("alice", "PUT", "e0"), http.StatusOK) // an existing one still counts

	must[messageJSON](t, f.do("alice", "DELETE", "/v1/channels/team/messages/1", nil), http.StatusOK)
	wantProblem(t, react("bob", "PUT", "👍"), http.StatusGone, wire.CodeMessageDeleted)
	wantProblem(t, react("bob", "DELETE", "👍"), http.StatusGone, wire.CodeMessageDeleted)
}

func TestRESTPins(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice", "bob")
	for i := 1; i <= 3; i++ {
		f.sendText("team", "bob", fmt.Sprint("b", i), fmt.Sprint("m", i))
	}
	events := f.events("team")
	pin := func(user, method, seq string) reply {
		return f.do(user, method, "/v1/channels/team/messages/"+seq+"/pin", nil)
	}

	wantProblem(t, pin("bob", "PUT", "2"), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, pin("mallory", "PUT", "2"), http.StatusForbidden, wire.CodeNotMember)
	if m := must[messageJSON](t, pin("alice", "PUT", "2"), http.StatusOK); !m.Pinned || m.Seq != 2 {
		t.Fatalf("pinned %+v", m)
	}
	f.wantEvent(events, wire.EventPinned, 2, "alice")
	must[messageJSON](t, pin("alice", "PUT", "2"), http.StatusOK) // no change, no event
	must[messageJSON](t, pin("alice", "PUT", "3"), http.StatusOK)
	f.wantEvent(events, wire.EventPinned, 3, "alice")
	pins := must[[]messageJSON](t, f.do("bob", "GET", "/v1/channels/team/pins", nil), http.StatusOK)
	if len(pins) != 2 || pins[0].Seq != 2 || pins[1].Seq != 3 || !pins[0].Pinned {
		t.Fatalf("pins %+v", pins)
	}
	wantProblem(t, f.do("mallory", "GET", "/v1/channels/team/pins", nil), http.StatusForbidden, wire.CodeNotMember)
	wantProblem(t, f.do("bob", "GET", "/v1/channels/nowhere/pins", nil), http.StatusNotFound, wire.CodeChannelNotFound)

	if m := must[messageJSON](t, pin("alice", "DELETE", "2"), http.StatusOK); m.Pinned {
		t.Fatalf("unpinned %+v", m)
	}
	f.wantEvent(events, wire.EventUnpinned, 2, "alice")
	must[messageJSON](t, pin("alice", "DELETE", "2"), http.StatusOK)
	f.wantQuiet(events)

	// Deleting a pinned message unpins it; a tombstone cannot be pinned.
	must[messageJSON](t, f.do("bob", "DELETE", "/v1/channels/team/messages/3", nil), http.StatusOK)
	f.wantEvent(events, wire.EventDeleted, 3, "bob")
	f.wantEvent(events, wire.EventUnpinned, 3, "bob")
	if pins := must[[]messageJSON](t, f.do("bob", "GET", "/v1/channels/team/pins", nil), http.StatusOK); len(pins) != 0 {
		t.Fatalf("pins after delete %+v", pins)
	}
	wantProblem(t, pin("alice", "PUT", "3"), http.StatusGone, wire.CodeMessageDeleted)
	wantProblem(t, pin("alice", "PUT", "9"), http.StatusNotFound, wire.CodeMessageNotFound)
	wantProblem(t, pin("alice", "PUT", "zero"), http.StatusBadRequest, wire.CodeBadFrame)

	// In a DM either member pins.
	dm := must[channelJSON](t, f.do("alice", "POST", "/v1/dms", map[string]any{"user": "bob"}), http.StatusCreated)
	f.sendText(dm.ID, "alice", "d1", "remember this")
	must[messageJSON](t, f.do("bob", "PUT", "/v1/channels/"+dm.ID+"/messages/1/pin", nil), http.StatusOK)
}

func TestRESTReadCursorAndUnread(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice", "bob")
	f.group("side", "bob")
	for i := 1; i <= 4; i++ {
		f.sendText("team", "alice", fmt.Sprint("a", i), "x")
	}
	f.sendText("side", "bob", "s1", "x")
	events := f.events("team")
	type cursor struct {
		ReadSeq uint64 `json:"read_seq"`
	}
	type unread struct {
		Channel string `json:"channel"`
		LastSeq uint64 `json:"last_seq"`
		ReadSeq uint64 `json:"read_seq"`
		Count   uint64 `json:"count"`
	}

	got := must[[]unread](t, f.do("bob", "GET", "/v1/unread", nil), http.StatusOK)
	if fmt.Sprint(got) != "[{side 1 0 1} {team 4 0 4}]" {
		t.Fatalf("unread %v", got)
	}
	if c := must[cursor](t, f.do("bob", "PUT", "/v1/channels/team/read", map[string]any{"seq": 3}), http.StatusOK); c.ReadSeq != 3 {
		t.Fatalf("cursor %+v", c)
	}
	fr := f.nextFrame(events)
	if fr.Type != wire.TypeReceipt || fr.Kind != wire.ReceiptRead || fr.From != "bob" || fr.Seq != 3 || fr.Channel != "team" {
		t.Fatalf("receipt %+v", fr)
	}
	// Never backwards, never past the last message; no receipt without a move.
	if c := must[cursor](t, f.do("bob", "PUT", "/v1/channels/team/read", map[string]any{"seq": 2}), http.StatusOK); c.ReadSeq != 3 {
		t.Fatalf("cursor moved back to %d", c.ReadSeq)
	}
	f.wantQuiet(events)
	if c := must[cursor](t, f.do("bob", "PUT", "/v1/channels/team/read", map[string]any{"seq": 100}), http.StatusOK); c.ReadSeq != 4 {
		t.Fatalf("cursor %d, want the last seq 4", c.ReadSeq)
	}
	if fr := f.nextFrame(events); fr.Type != wire.TypeReceipt || fr.Seq != 4 {
		t.Fatalf("receipt %+v", fr)
	}
	got = must[[]unread](t, f.do("bob", "GET", "/v1/unread", nil), http.StatusOK)
	if fmt.Sprint(got) != "[{side 1 0 1} {team 4 4 0}]" {
		t.Fatalf("unread %v", got)
	}
	if m, _ := f.store.Member(context.Background(), "team", "bob"); m.ReadSeq != 4 {
		t.Fatalf("stored read seq %d", m.ReadSeq)
	}

	wantProblem(t, f.do("bob", "PUT", "/v1/channels/team/read", map[string]any{}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, f.do("bob", "PUT", "/v1/channels/team/read", map[string]any{"seq": -1}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, f.do("bob", "PUT", "/v1/channels/team/read", map[string]any{"seq": "4"}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, f.do("mallory", "PUT", "/v1/channels/team/read", map[string]any{"seq": 1}), http.StatusForbidden, wire.CodeNotMember)
	wantProblem(t, f.do("bob", "PUT", "/v1/channels/nowhere/read", map[string]any{"seq": 1}), http.StatusNotFound, wire.CodeChannelNotFound)
	if got := must[[]unread](t, f.do("carol", "GET", "/v1/unread", nil), http.StatusOK); len(got) != 0 {
		t.Fatalf("carol's unread %v", got)
	}
}

func TestRESTMessageReceipts(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice", "bob", "carol", "dave")
	for i := 1; i <= 3; i++ {
		f.sendText("team", "alice", fmt.Sprint("a", i), "x")
	}
	must[map[string]any](t, f.do("bob", "PUT", "/v1/channels/team/read", map[string]any{"seq": 2}), http.StatusOK)
	if _, _, err := f.store.MoveDelivered(context.Background(), "team", "carol", 3); err != nil {
		t.Fatal(err)
	}
	type receipts struct {
		Seq                      uint64
		Read, Delivered, Pending []string
	}
	for path, want := range map[string]string{
		"/v1/channels/team/messages/2/receipts": "{2 [bob] [carol] [dave]}",
		"/v1/channels/team/messages/3/receipts": "{3 [] [carol] [bob dave]}",
	} {
		// Any member may ask; the sender is never listed.
		for _, asker := range []string{"alice", "dave"} {
			if got := must[receipts](t, f.do(asker, "GET", path, nil), http.StatusOK); fmt.Sprint(got) != want {
				t.Errorf("%s asks %s: %v, want %s", asker, path, got, want)
			}
		}
	}
	wantProblem(t, f.do("mallory", "GET", "/v1/channels/team/messages/2/receipts", nil), http.StatusForbidden, wire.CodeNotMember)
	wantProblem(t, f.do("bob", "GET", "/v1/channels/team/messages/9/receipts", nil), http.StatusNotFound, wire.CodeMessageNotFound)
	wantProblem(t, f.do("bob", "GET", "/v1/channels/team/messages/x/receipts", nil), http.StatusBadRequest, wire.CodeBadFrame)
	must[channelJSON](t, f.do("alice", "POST", "/v1/channels", map[string]any{"id": "live", "kind": "broadcast", "name": "Live", "public": true}), http.StatusCreated)
	f.sendText("live", "alice", "l1", "x")
	wantProblem(t, f.do("alice", "GET", "/v1/channels/live/messages/1/receipts", nil), http.StatusBadRequest, wire.CodeBadFrame)
}
