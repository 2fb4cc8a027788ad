package chat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// testUserHeader carries the caller in tests, in place of a JWT.
const testUserHeader = "X-Test-User"

// restFixture is a chat service on a real embedded NATS server and SQLite
// store, with its REST API on an httptest server.
type restFixture struct {
	t       testing.TB
	nc      *nats.Conn
	store   chat.Store
	handler http.Handler // the API, for tests that skip the network
	url     string
}

func newRESTFixture(t testing.TB) *restFixture {
	t.Helper()
	nc, store, svc := startChat(t)
	api := chat.NewAPI(svc, func(r *http.Request) (string, error) {
		if u := r.Header.Get(testUserHeader); u != "" {
			return u, nil
		}
		return "", errors.New("token missing")
	})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &restFixture{t: t, nc: nc, store: store, handler: api, url: srv.URL}
}

// with returns a copy of f reporting to t, for subtests.
func (f *restFixture) with(t testing.TB) *restFixture {
	c := *f
	c.t = t
	return &c
}

// reply is an HTTP response, read.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request as user ("" for none). body is nil, a string or
// []byte sent as is, or a value sent as JSON. Every response is checked
// against openapi.yaml.
func (f *restFixture) do(user, method, path string, body any) reply {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set(testUserHeader, user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	checkDocumented(f.t, method, path, resp.StatusCode, resp.Header, data)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// must fails the test unless r has the status, and decodes its body into
// a T.
func must[T any](t testing.TB, r reply, status int) T {
	t.Helper()
	var v T
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if len(r.body) > 0 {
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
	return v
}

type problemBody struct {
	Type   string    `json:"type"`
	Title  string    `json:"title"`
	Status int       `json:"status"`
	Detail string    `json:"detail"`
	Code   wire.Code `json:"code"`
}

// wantProblem fails the test unless r is an RFC 9457 problem with the
// status and code; it returns the problem.
func wantProblem(t testing.TB, r reply, status int, code wire.Code) problemBody {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (status %d: %s)", ct, r.status, r.body)
	}
	p := must[problemBody](t, r, status)
	if p.Status != status || p.Code != code || p.Title == "" || p.Detail == "" ||
		!strings.HasPrefix(p.Type, chat.ProblemTypeBase) {
		t.Fatalf("problem %+v, want status %d code %d (%s)", p, status, code, code)
	}
	return p
}

// JSON shapes of responses, as a client reads them.
type (
	channelJSON struct {
		ID        string `json:"id"`
		Kind      string `json:"kind"`
		Name      string `json:"name"`
		Topic     string `json:"topic"`
		Public    bool   `json:"public"`
		Open      bool   `json:"open"`
		MemberCap int    `json:"member_cap"`
		CreatedBy string `json:"created_by"`
		CreatedAt string `json:"created_at"`
		LastSeq   uint64 `json:"last_seq"`
	}
	memberJSON struct {
		User    string `json:"user"`
		Role    string `json:"role"`
		ReadSeq uint64 `json:"read_seq"`
	}
	membersJSON struct {
		Members []memberJSON `json:"members"`
		More    bool         `json:"more"`
		Next    string       `json:"next"`
	}
	messageJSON struct {
		Channel     string            `json:"channel"`
		Seq         uint64            `json:"seq"`
		Sender      string            `json:"sender"`
		ClientID    string            `json:"client_id"`
		ContentType string            `json:"content_type"`
		Body        *string           `json:"body"`
		BodyB64     string            `json:"body_b64"`
		Attachments []chat.Attachment `json:"attachments"`
		ReplyTo     uint64            `json:"reply_to"`
		CreatedAt   string            `json:"created_at"`
		EditedAt    string            `json:"edited_at"`
		Deleted     bool              `json:"deleted"`
		Pinned      bool              `json:"pinned"`
		Reactions   map[string]int    `json:"reactions"`
	}
	messagesJSON struct {
		Messages []messageJSON `json:"messages"`
		More     bool          `json:"more"`
	}
)

// group creates a group through the API, owned by owner, with members.
func (f *restFixture) group(id, owner string, members ...string) channelJSON {
	f.t.Helper()
	ch := must[channelJSON](f.t, f.do(owner, "POST", "/v1/channels", map[string]any{"id": id, "kind": "group", "name": id}), http.StatusCreated)
	for _, m := range members {
		must[memberJSON](f.t, f.do(owner, "POST", "/v1/channels/"+id+"/members", map[string]any{"user": m}), http.StatusCreated)
	}
	return ch
}

// sendText sends a text message through the API.
func (f *restFixture) sendText(channel, user, clientID, body string) messageJSON {
	f.t.Helper()
	return must[messageJSON](f.t, f.do(user, "POST", "/v1/channels/"+channel+"/messages",
		map[string]any{"client_id": clientID, "body": body}), http.StatusCreated)
}

// events subscribes to a channel's event subject.
func (f *restFixture) events(channel string) *nats.Subscription {
	f.t.Helper()
	sub, err := f.nc.SubscribeSync(bus.EventSubject(channel))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.nc.Flush(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { sub.Unsubscribe() })
	return sub
}

// nextFrame returns the next frame on sub, skipping new-message events.
func (f *restFixture) nextFrame(sub *nats.Subscription) wire.Frame {
	f.t.Helper()
	for {
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			f.t.Fatalf("no frame on %s: %v", sub.Subject, err)
		}
		var fr wire.Frame
		if err := wire.Msgpack.Decode(m.Data, &fr); err != nil {
			f.t.Fatal(err)
		}
		if fr.Type != wire.TypeEvent || fr.Kind != wire.EventMessage {
			return fr
		}
	}
}

// wantEvent fails the test unless the next frame on sub (new messages
// aside) is an event of kind about message seq, from user.
func (f *restFixture) wantEvent(sub *nats.Subscription, kind uint8, seq uint64, user string) wire.Frame {
	f.t.Helper()
	fr := f.nextFrame(sub)
	if fr.Type != wire.TypeEvent || fr.Kind != kind || fr.Seq != seq || fr.From != user || fr.Time == 0 {
		f.t.Fatalf("frame %+v, want event kind %d for seq %d from %s", fr, kind, seq, user)
	}
	return fr
}

// wantQuiet fails the test if a frame other than a new-message event
// arrives on sub within a short while.
func (f *restFixture) wantQuiet(sub *nats.Subscription) {
	f.t.Helper()
	for {
		m, err := sub.NextMsg(150 * time.Millisecond)
		if err != nil {
			return
		}
		var fr wire.Frame
		wire.Msgpack.Decode(m.Data, &fr)
		if fr.Type != wire.TypeEvent || fr.Kind != wire.EventMessage {
			f.t.Fatalf("unexpected frame %+v", fr)
		}
	}
}

func TestRESTAuthenticationAndRouting(t *testing.T) {
	f := newRESTFixture(t)
	r := f.do("", "GET", "/v1/channels", nil)
	wantProblem(t, r, http.StatusUnauthorized, wire.CodePermissionDenied)
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="salam"` {
		t.Fatalf("WWW-Authenticate %q", got)
	}
	// A body is not read before authentication.
	wantProblem(t, f.do("", "POST", "/v1/channels", "{"), http.StatusUnauthorized, wire.CodePermissionDenied)

	// Every route refuses a request without a token.
	params := strings.NewReplacer("{id}", "team", "{seq}", "1", "{user}", "bob", "{emoji}", "x")
	for _, rt := range chat.APIRoutes() {
		method, path, _ := strings.Cut(rt, " ")
		wantProblem(t, f.do("", method, params.Replace(path), nil), http.StatusUnauthorized, wire.CodePermissionDenied)
	}

	wantProblem(t, f.do("alice", "GET", "/v1/nowhere", nil), http.StatusNotFound, wire.CodeBadFrame)
	r = f.do("alice", "PUT", "/v1/channels", nil)
	wantProblem(t, r, http.StatusMethodNotAllowed, wire.CodeBadFrame)
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Fatalf("Allow %q", allow)
	}
}

func TestRESTRequestBodies(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice")
	tests := []struct {
		name   string
		body   any
		status int
		code   wire.Code
		detail string
	}{
		{"malformed", `{"kind": "group",`, http.StatusBadRequest, wire.CodeBadFrame, "malformed JSON"},
		{"syntax error", `{"kind" "group"}`, http.StatusBadRequest, wire.CodeBadFrame, "malformed JSON at byte"},
		{"empty", ``, http.StatusBadRequest, wire.CodeBadFrame, "empty body"},
		{"not an object", `["group"]`, http.StatusBadRequest, wire.CodeBadFrame, "must be a JSON object"},
		{"unknown field", `{"kind":"group","name":"x","colour":"red"}`, http.StatusBadRequest, wire.CodeBadFrame, `unknown field "colour"`},
		{"wrong type", `{"kind":"group","name":"x","public":"yes"}`, http.StatusBadRequest, wire.CodeBadFrame, `field "public" must be a boolean`},
		{"trailing data", `{"kind":"group","name":"x"} {}`, http.StatusBadRequest, wire.CodeBadFrame, "data after the object"},
		{"over 1 MiB", `{"kind":"group","name":"x","topic":"` + strings.Repeat("a", chat.MaxRequestBody) + `"}`,
			http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "larger than"},
		{"bad kind", map[string]any{"kind": "forum", "name": "x"}, http.StatusBadRequest, wire.CodeBadFrame, "kind"},
		{"kind dm", map[string]any{"kind": "dm", "name": "x"}, http.StatusBadRequest, wire.CodeBadFrame, "/v1/dms"},
		{"no name", map[string]any{"kind": "group"}, http.StatusBadRequest, wire.CodeBadFrame, "name"},
		{"invalid id", map[string]any{"id": "a.b", "kind": "group", "name": "x"}, http.StatusBadRequest, wire.CodeBadChannel, "id"},
		{"reserved id", map[string]any{"id": "dm:abc", "kind": "group", "name": "x"}, http.StatusBadRequest, wire.CodeBadChannel, "reserved"},
		{"cap too small", map[string]any{"kind": "group", "name": "x", "member_cap": 1}, http.StatusBadRequest, wire.CodeBadFrame, "member_cap"},
		{"cap too large", map[string]any{"kind": "group", "name": "x", "member_cap": 257}, http.StatusBadRequest, wire.CodeBadFrame, "member_cap"},
		{"negative broadcast cap", map[string]any{"kind": "broadcast", "name": "x", "member_cap": -1}, http.StatusBadRequest, wire.CodeBadFrame, "member_cap"},
		{"long topic", map[string]any{"kind": "group", "name": "x", "topic": strings.Repeat("t", 1025)}, http.StatusBadRequest, wire.CodeBadFrame, "topic"},
		{"duplicate id", map[string]any{"id": "team", "kind": "group", "name": "x"}, http.StatusConflict, wire.CodeConflict, "exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := f.with(t)
			p := wantProblem(t, f.do("alice", "POST", "/v1/channels", tt.body), tt.status, tt.code)
			if !strings.Contains(p.Detail, tt.detail) {
				t.Fatalf("detail %q does not mention %q", p.Detail, tt.detail)
			}
		})
	}
	t.Run("content type", func(t *testing.T) {
		req, _ := http.NewRequest("POST", f.url+"/v1/channels", strings.NewReader(`kind=group`))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(testUserHeader, "alice")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantProblem(t, reply{resp.StatusCode, resp.Header, body}, http.StatusUnsupportedMediaType, wire.CodeBadFrame)
	})
	if chs := must[[]channelJSON](t, f.do("alice", "GET", "/v1/channels", nil), http.StatusOK); len(chs) != 1 {
		t.Fatalf("refused requests created channels: %+v", chs)
	}
}

func TestRESTChannels(t *testing.T) {
	f := newRESTFixture(t)
	r := f.do("alice", "POST", "/v1/channels", map[string]any{"kind": "group", "name": "Team", "topic": "plans", "public": false})
	ch := must[channelJSON](t, r, http.StatusCreated)
	if !strings.HasPrefix(ch.ID, "g-") || !wire.ValidChannel(ch.ID) || len(ch.ID) != 18 {
		t.Fatalf("generated id %q", ch.ID)
	}
	if r.header.Get("Location") != "/v1/channels/"+ch.ID {
		t.Fatalf("Location %q", r.header.Get("Location"))
	}
	if ch.Kind != "group" || ch.Name != "Team" || ch.Topic != "plans" || ch.MemberCap != 256 || ch.CreatedBy != "alice" || ch.LastSeq != 0 {
		t.Fatalf("created %+v", ch)
	}
	if m, err := f.store.Member(context.Background(), ch.ID, "alice"); err != nil || m.Role != chat.RoleOwner {
		t.Fatalf("creator membership %+v, %v", m, err)
	}
	live := must[channelJSON](t, f.do("alice", "POST", "/v1/channels", map[string]any{"id": "live:1", "kind": "broadcast", "name": "Live", "public": true}), http.StatusCreated)
	if live.ID != "live:1" || live.MemberCap != 0 || !live.Public {
		t.Fatalf("broadcast %+v", live)
	}
	small := must[channelJSON](t, f.do("bob", "POST", "/v1/channels", map[string]any{"kind": "group", "name": "Pair", "member_cap": 2}), http.StatusCreated)
	if small.MemberCap != 2 {
		t.Fatalf("member cap %d", small.MemberCap)
	}

	mine := must[[]channelJSON](t, f.do("alice", "GET", "/v1/channels", nil), http.StatusOK)
	if len(mine) != 2 || mine[0].ID > mine[1].ID {
		t.Fatalf("alice's channels %+v", mine)
	}
	if got := must[channelJSON](t, f.do("alice", "GET", "/v1/channels/"+ch.ID, nil), http.StatusOK); got != ch {
		t.Fatalf("get %+v, want %+v", got, ch)
	}
	wantProblem(t, f.do("mallory", "GET", "/v1/channels/"+ch.ID, nil), http.StatusForbidden, wire.CodeNotMember)
	must[channelJSON](t, f.do("mallory", "GET", "/v1/channels/live:1", nil), http.StatusOK) // public
	wantProblem(t, f.do("alice", "GET", "/v1/channels/nowhere", nil), http.StatusNotFound, wire.CodeChannelNotFound)
	wantProblem(t, f.do("alice", "GET", "/v1/channels/bad.name", nil), http.StatusNotFound, wire.CodeChannelNotFound)

	// PATCH: owner and admins; absent fields are kept.
	must[memberJSON](t, f.do("alice", "POST", "/v1/channels/"+ch.ID+"/members", map[string]any{"user": "bob", "role": "admin"}), http.StatusCreated)
	must[memberJSON](t, f.do("alice", "POST", "/v1/channels/"+ch.ID+"/members", map[string]any{"user": "carol"}), http.StatusCreated)
	up := must[channelJSON](t, f.do("bob", "PATCH", "/v1/channels/"+ch.ID, map[string]any{"topic": "new plans", "public": true, "member_cap": 10}), http.StatusOK)
	if up.Name != "Team" || up.Topic != "new plans" || !up.Public || up.MemberCap != 10 {
		t.Fatalf("patched %+v", up)
	}
	wantProblem(t, f.do("carol", "PATCH", "/v1/channels/"+ch.ID, map[string]any{"name": "Mine"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("mallory", "PATCH", "/v1/channels/"+ch.ID, map[string]any{"name": "Mine"}), http.StatusForbidden, wire.CodeNotMember)
	wantProblem(t, f.do("alice", "PATCH", "/v1/channels/"+ch.ID, map[string]any{"name": ""}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, f.do("alice", "PATCH", "/v1/channels/"+ch.ID, map[string]any{"member_cap": 0}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, f.do("alice", "PATCH", "/v1/channels/nowhere", map[string]any{"name": "x"}), http.StatusNotFound, wire.CodeChannelNotFound)
	if got := must[channelJSON](t, f.do("alice", "PATCH", "/v1/channels/"+ch.ID, map[string]any{}), http.StatusOK); got != up {
		t.Fatalf("empty patch changed %+v into %+v", up, got)
	}

	// DELETE: owners only.
	wantProblem(t, f.do("bob", "DELETE", "/v1/channels/"+ch.ID, nil), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("mallory", "DELETE", "/v1/channels/"+ch.ID, nil), http.StatusForbidden, wire.CodeNotMember)
	if r := f.do("alice", "DELETE", "/v1/channels/"+ch.ID, nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantProblem(t, f.do("alice", "GET", "/v1/channels/"+ch.ID, nil), http.StatusNotFound, wire.CodeChannelNotFound)
	wantProblem(t, f.do("alice", "DELETE", "/v1/channels/"+ch.ID, nil), http.StatusNotFound, wire.CodeChannelNotFound)
}

// TestRESTOpenChannels: in an open public broadcast channel (a live room)
// anyone not banned publishes and reacts without joining; open is refused
// for other channels, and closing it takes effect at once.
func TestRESTOpenChannels(t *testing.T) {
	f := newRESTFixture(t)
	for _, body := range []map[string]any{
		{"kind": "group", "name": "G", "public": true, "open": true},
		{"kind": "broadcast", "name": "Private", "open": true},
	} {
		wantProblem(t, f.do("alice", "POST", "/v1/channels", body), http.StatusBadRequest, wire.CodeBadFrame)
	}
	ch := must[channelJSON](t, f.do("alice", "POST", "/v1/channels",
		map[string]any{"id": "live-s", "kind": "broadcast", "name": "Live", "public": true, "open": true}), http.StatusCreated)
	if !ch.Open || !ch.Public || ch.Kind != "broadcast" {
		t.Fatalf("created %+v", ch)
	}
	if got := must[channelJSON](t, f.do("viewer", "GET", "/v1/channels/live-s", nil), http.StatusOK); !got.Open {
		t.Fatalf("get %+v", got)
	}

	// Viewers publish and react without being members, and stay non-members.
	m := f.sendText("live-s", "viewer", "v1", "hello from the audience")
	must[map[string]any](t, f.do("viewer2", "PUT", "/v1/channels/live-s/messages/1/reactions/%F0%9F%91%8F", nil), http.StatusOK)
	if _, err := f.store.Member(context.Background(), "live-s", "viewer"); !errors.Is(err, chat.ErrNotFound) {
		t.Fatalf("viewer became a member: %v", err)
	}
	wantProblem(t, f.do("viewer", "PUT", "/v1/channels/live-s/read", map[string]any{"seq": m.Seq}), http.StatusForbidden, wire.CodeNotMember) // cursors are members'

	// The owner moderates: a ban stops a viewer, who never joined.
	must[memberJSON](t, f.do("alice", "POST", "/v1/channels/live-s/bans", map[string]any{"user": "viewer"}), http.StatusOK)
	wantProblem(t, f.do("viewer", "POST", "/v1/channels/live-s/messages", map[string]any{"client_id": "v2", "body": "x"}), http.StatusForbidden, wire.CodeBanned)
	wantProblem(t, f.do("viewer", "PUT", "/v1/channels/live-s/messages/1/reactions/x", nil), http.StatusForbidden, wire.CodeBanned)

	// Only a public broadcast channel stays open; closing it is immediate.
	wantProblem(t, f.do("alice", "PATCH", "/v1/channels/live-s", map[string]any{"public": false}), http.StatusBadRequest, wire.CodeBadFrame)
	if up := must[channelJSON](t, f.do("alice", "PATCH", "/v1/channels/live-s", map[string]any{"open": false}), http.StatusOK); up.Open || !up.Public {
		t.Fatalf("closed %+v", up)
	}
	wantProblem(t, f.do("viewer2", "POST", "/v1/channels/live-s/messages", map[string]any{"client_id": "w1", "body": "x"}), http.StatusForbidden, wire.CodeNotMember)
	if p := must[messagesJSON](t, f.do("viewer2", "GET", "/v1/channels/live-s/messages", nil), http.StatusOK); len(p.Messages) != 1 {
		t.Fatalf("history of the closed room %+v, want still readable", p)
	}
	f.sendText("live-s", "alice", "a1", "members still publish")
	g := must[channelJSON](t, f.do("alice", "POST", "/v1/channels", map[string]any{"kind": "group", "name": "G", "public": true}), http.StatusCreated)
	wantProblem(t, f.do("alice", "PATCH", "/v1/channels/"+g.ID, map[string]any{"open": true}), http.StatusBadRequest, wire.CodeBadFrame)
}

func TestRESTDirectMessages(t *testing.T) {
	f := newRESTFixture(t)
	r := f.do("alice", "POST", "/v1/dms", map[string]any{"user": "bob"})
	dm := must[channelJSON](t, r, http.StatusCreated)
	if dm.ID != chat.DMChannelID("alice", "bob") || dm.Kind != "dm" || dm.MemberCap != 2 || dm.Name != "" {
		t.Fatalf("dm %+v", dm)
	}
	if again := must[channelJSON](t, f.do("alice", "POST", "/v1/dms", map[string]any{"user": "bob"}), http.StatusOK); again != dm {
		t.Fatalf("opened twice: %+v, then %+v", dm, again)
	}
	if theirs := must[channelJSON](t, f.do("bob", "POST", "/v1/dms", map[string]any{"user": "alice"}), http.StatusOK); theirs.ID != dm.ID {
		t.Fatalf("bob's side %q, alice's %q", theirs.ID, dm.ID)
	}
	page := must[membersJSON](t, f.do("bob", "GET", "/v1/channels/"+dm.ID+"/members", nil), http.StatusOK)
	if len(page.Members) != 2 || page.Members[0].User != "alice" || page.Members[1].User != "bob" {
		t.Fatalf("dm members %+v", page)
	}
	// Both can talk at once.
	f.sendText(dm.ID, "bob", "b1", "salam")

	wantProblem(t, f.do("alice", "POST", "/v1/dms", map[string]any{"user": "alice"}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, f.do("alice", "POST", "/v1/dms", map[string]any{}), http.StatusBadRequest, wire.CodeBadFrame)
	// A DM's membership and settings are fixed.
	wantProblem(t, f.do("alice", "POST", "/v1/channels/"+dm.ID+"/members", map[string]any{"user": "carol"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("alice", "DELETE", "/v1/channels/"+dm.ID+"/members/bob", nil), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("bob", "DELETE", "/v1/channels/"+dm.ID+"/members/bob", nil), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("alice", "POST", "/v1/channels/"+dm.ID+"/bans", map[string]any{"user": "bob"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("alice", "PATCH", "/v1/channels/"+dm.ID, map[string]any{"name": "us"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("alice", "DELETE", "/v1/channels/"+dm.ID, nil), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("carol", "GET", "/v1/channels/"+dm.ID, nil), http.StatusForbidden, wire.CodeNotMember)

	// A DM that lost its second write is completed by the next open.
	half := chat.DMChannelID("alice", "dave")
	if _, err := f.store.CreateChannel(context.Background(), chat.Channel{ID: half, Kind: chat.KindDM, MemberCap: 2, CreatedBy: "alice",
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}, "alice"); err != nil {
		t.Fatal(err)
	}
	must[channelJSON](t, f.do("dave", "POST", "/v1/dms", map[string]any{"user": "alice"}), http.StatusOK)
	f.sendText(half, "dave", "d1", "hi")
}

func TestRESTStoreFailure(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice")
	f.sendText("team", "alice", "a1", "x") // the access cache now knows alice
	f.store.Close()
	wantProblem(t, f.do("alice", "GET", "/v1/channels", nil), http.StatusServiceUnavailable, wire.CodeUnavailable)
	wantProblem(t, f.do("alice", "POST", "/v1/channels/team/messages", map[string]any{"client_id": "a2", "body": "x"}),
		http.StatusServiceUnavailable, wire.CodeUnavailable)
}
