package chat_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/wire"
)

func TestRESTJoinInviteAndRoles(t *testing.T) {
	f := newRESTFixture(t)
	f.group("team", "alice", "bob")
	must[channelJSON](t, f.do("alice", "POST", "/v1/channels", map[string]any{"id": "open", "kind": "group", "name": "Open", "public": true}), http.StatusCreated)
	must[channelJSON](t, f.do("alice", "POST", "/v1/channels", map[string]any{"id": "live", "kind": "broadcast", "name": "Live", "public": true}), http.StatusCreated)
	members := func(id string) string { return "/v1/channels/" + id + "/members" }

	// Self-join: public groups only, as a member.
	m := must[memberJSON](t, f.do("carol", "POST", members("open"), map[string]any{"user": "carol"}), http.StatusCreated)
	if m.User != "carol" || m.Role != "member" {
		t.Fatalf("joined %+v", m)
	}
	must[memberJSON](t, f.do("carol", "POST", members("open"), map[string]any{"user": "carol"}), http.StatusOK) // already in
	wantProblem(t, f.do("carol", "POST", members("open"), map[string]any{"user": "carol", "role": "admin"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("dave", "POST", members("open"), map[string]any{"user": "dave", "role": "admin"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("carol", "POST", members("team"), map[string]any{"user": "carol"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("carol", "POST", members("live"), map[string]any{"user": "carol"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("carol", "POST", members("nowhere"), map[string]any{"user": "carol"}), http.StatusNotFound, wire.CodeChannelNotFound)

	// Invites and role changes.
	wantProblem(t, f.do("bob", "POST", members("team"), map[string]any{"user": "carol"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("mallory", "POST", members("team"), map[string]any{"user": "carol"}), http.StatusForbidden, wire.CodeNotMember)
	if m := must[memberJSON](t, f.do("alice", "POST", members("team"), map[string]any{"user": "bob", "role": "admin"}), http.StatusOK); m.Role != "admin" {
		t.Fatalf("promoted %+v", m)
	}
	must[memberJSON](t, f.do("bob", "POST", members("team"), map[string]any{"user": "carol"}), http.StatusCreated) // admins invite
	wantProblem(t, f.do("bob", "POST", members("team"), map[string]any{"user": "carol", "role": "owner"}), http.StatusForbidden, wire.CodePermissionDenied)
	must[memberJSON](t, f.do("bob", "POST", members("team"), map[string]any{"user": "carol", "role": "admin"}), http.StatusOK)
	wantProblem(t, f.do("bob", "POST", members("team"), map[string]any{"user": "carol", "role": "member"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("bob", "POST", members("team"), map[string]any{"user": "alice", "role": "member"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("bob", "POST", members("team"), map[string]any{"user": "bob", "role": "owner"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("alice", "POST", members("team"), map[string]any{"user": "alice", "role": "member"}), http.StatusForbidden, wire.CodePermissionDenied)
	must[memberJSON](t, f.do("alice", "POST", members("team"), map[string]any{"user": "carol", "role": "member"}), http.StatusOK)
	wantProblem(t, f.do("alice", "POST", members("team"), map[string]any{"user": "carol", "role": "banned"}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, f.do("alice", "POST", members("team"), map[string]any{"user": "carol", "role": "king"}), http.StatusBadRequest, wire.CodeBadFrame)
	wantProblem(t, f.do("alice", "POST", members("team"), map[string]any{"user": ""}), http.StatusBadRequest, wire.CodeBadFrame)
	if m, err := f.store.Member(context.Background(), "team", "carol"); err != nil || m.Role != chat.RoleMember {
		t.Fatalf("carol in team: %+v, %v", m, err)
	}

	// Leaving and removing.
	wantProblem(t, f.do("carol", "DELETE", members("team")+"/bob", nil), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("bob", "DELETE", members("team")+"/alice", nil), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("alice", "DELETE", members("team")+"/alice", nil), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("alice", "DELETE", members("team")+"/zed", nil), http.StatusNotFound, wire.CodeNotMember)
	must[memberJSON](t, f.do("alice", "POST", members("team"), map[string]any{"user": "dave", "role": "admin"}), http.StatusCreated)
	wantProblem(t, f.do("bob", "DELETE", members("team")+"/dave", nil), http.StatusForbidden, wire.CodePermissionDenied)
	must[any](t, f.do("alice", "DELETE", members("team")+"/dave", nil), http.StatusNoContent)
	must[any](t, f.do("bob", "DELETE", members("team")+"/carol", nil), http.StatusNoContent)
	must[any](t, f.do("bob", "DELETE", members("team")+"/bob", nil), http.StatusNoContent)
	wantProblem(t, f.do("bob", "DELETE", members("team")+"/bob", nil), http.StatusNotFound, wire.CodeNotMember)
	// The access cache forgot bob: he can no longer publish.
	wantProblem(t, f.do("bob", "POST", "/v1/channels/team/messages", map[string]any{"client_id": "x", "body": "hi"}), http.StatusForbidden, wire.CodeNotMember)
}

func TestRESTMemberCap(t *testing.T) {
	f := newRESTFixture(t)
	must[channelJSON](t, f.do("alice", "POST", "/v1/channels", map[string]any{"id": "pair", "kind": "group", "name": "Pair", "public": true, "member_cap": 2}), http.StatusCreated)
	must[memberJSON](t, f.do("alice", "POST", "/v1/channels/pair/members", map[string]any{"user": "bob"}), http.StatusCreated)
	wantProblem(t, f.do("alice", "POST", "/v1/channels/pair/members", map[string]any{"user": "carol"}), http.StatusConflict, wire.CodeChannelFull)
	wantProblem(t, f.do("carol", "POST", "/v1/channels/pair/members", map[string]any{"user": "carol"}), http.StatusConflict, wire.CodeChannelFull)
	// A role change is not an addition.
	must[memberJSON](t, f.do("alice", "POST", "/v1/channels/pair/members", map[string]any{"user": "bob", "role": "admin"}), http.StatusOK)
	// Raising the cap makes room.
	must[channelJSON](t, f.do("alice", "PATCH", "/v1/channels/pair", map[string]any{"member_cap": 3}), http.StatusOK)
	must[memberJSON](t, f.do("carol", "POST", "/v1/channels/pair/members", map[string]any{"user": "carol"}), http.StatusCreated)
}

func TestRESTBans(t *testing.T) {
	f := newRESTFixture(t)
	must[channelJSON](t, f.do("alice", "POST", "/v1/channels", map[string]any{"id": "open", "kind": "group", "name": "Open", "public": true}), http.StatusCreated)
	for _, u := range []string{"bob", "carol", "dave"} {
		must[memberJSON](t, f.do(u, "POST", "/v1/channels/open/members", map[string]any{"user": u}), http.StatusCreated)
	}
	must[memberJSON](t, f.do("alice", "POST", "/v1/channels/open/members", map[string]any{"user": "bob", "role": "admin"}), http.StatusOK)
	f.sendText("open", "carol", "c1", "before the ban")

	wantProblem(t, f.do("dave", "POST", "/v1/channels/open/bans", map[string]any{"user": "carol"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("bob", "POST", "/v1/channels/open/bans", map[string]any{"user": "alice"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("bob", "POST", "/v1/channels/open/bans", map[string]any{"user": "bob"}), http.StatusForbidden, wire.CodePermissionDenied)
	wantProblem(t, f.do("bob", "POST", "/v1/channels/nowhere/bans", map[string]any{"user": "carol"}), http.StatusNotFound, wire.CodeChannelNotFound)
	if m := must[memberJSON](t, f.do("bob", "POST", "/v1/channels/open/bans", map[string]any{"user": "carol"}), http.StatusOK); m.Role != "banned" {
		t.Fatalf("ban %+v", m)
	}
	must[memberJSON](t, f.do("bob", "POST", "/v1/channels/open/bans", map[string]any{"user": "carol"}), http.StatusOK) // twice
	must[memberJSON](t, f.do("bob", "POST", "/v1/channels/open/bans", map[string]any{"user": "eve"}), http.StatusOK)   // not a member yet

	// A banned user can neither rejoin, be invited, leave, publish nor read.
	wantProblem(t, f.do("carol", "POST", "/v1/channels/open/members", map[string]any{"user": "carol"}), http.StatusForbidden, wire.CodeBanned)
	wantProblem(t, f.do("eve", "POST", "/v1/channels/open/members", map[string]any{"user": "eve"}), http.StatusForbidden, wire.CodeBanned)
	wantProblem(t, f.do("alice", "POST", "/v1/channels/open/members", map[string]any{"user": "carol"}), http.StatusForbidden, wire.CodeBanned)
	wantProblem(t, f.do("carol", "DELETE", "/v1/channels/open/members/carol", nil), http.StatusForbidden, wire.CodeBanned)
	wantProblem(t, f.do("carol", "POST", "/v1/channels/open/messages", map[string]any{"client_id": "c2", "body": "x"}), http.StatusForbidden, wire.CodeBanned)
	wantProblem(t, f.do("carol", "GET", "/v1/channels/open/messages", nil), http.StatusForbidden, wire.CodeBanned)
	wantProblem(t, f.do("carol", "GET", "/v1/channels/open", nil), http.StatusForbidden, wire.CodeBanned)
	wantProblem(t, f.do("carol", "PUT", "/v1/channels/open/read", map[string]any{"seq": 1}), http.StatusForbidden, wire.CodeBanned)
	for _, ch := range must[[]channelJSON](t, f.do("carol", "GET", "/v1/channels", nil), http.StatusOK) {
		t.Fatalf("banned carol still lists %s", ch.ID)
	}

	// Only owners and admins see bans.
	if page := must[membersJSON](t, f.do("dave", "GET", "/v1/channels/open/members", nil), http.StatusOK); len(page.Members) != 3 {
		t.Fatalf("dave sees %+v", page.Members)
	}
	if page := must[membersJSON](t, f.do("bob", "GET", "/v1/channels/open/members", nil), http.StatusOK); len(page.Members) != 5 {
		t.Fatalf("bob sees %+v", page.Members)
	}

	// Removing the ban lets carol back in.
	wantProblem(t, f.do("dave", "DELETE", "/v1/channels/open/members/carol", nil), http.StatusForbidden, wire.CodePermissionDenied)
	must[any](t, f.do("bob", "DELETE", "/v1/channels/open/members/carol", nil), http.StatusNoContent)
	must[memberJSON](t, f.do("carol", "POST", "/v1/channels/open/members", map[string]any{"user": "carol"}), http.StatusCreated)
	f.sendText("open", "carol", "c3", "back")
}

func TestRESTMembersPages(t *testing.T) {
	f := newRESTFixture(t)
	var users []string
	for i := range 7 {
		users = append(users, fmt.Sprintf("u%d", i))
	}
	f.group("team", "alice", users...)
	var seen []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 4 {
			t.Fatal("too many pages")
		}
		page := must[membersJSON](t, f.do("u3", "GET", "/v1/channels/team/members?limit=3&after="+after, nil), http.StatusOK)
		for _, m := range page.Members {
			seen = append(seen, m.User)
		}
		if !page.More {
			if page.Next != "" {
				t.Fatalf("next %q on the last page", page.Next)
			}
			break
		}
		after = page.Next
	}
	if fmt.Sprint(seen) != "[alice u0 u1 u2 u3 u4 u5 u6]" {
		t.Fatalf("pages gave %v", seen)
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x"} {
		wantProblem(t, f.do("alice", "GET", "/v1/channels/team/members?"+q, nil), http.StatusBadRequest, wire.CodeBadFrame)
	}
	must[membersJSON](t, f.do("alice", "GET", "/v1/channels/team/members?limit=200", nil), http.StatusOK)
	wantProblem(t, f.do("mallory", "GET", "/v1/channels/team/members", nil), http.StatusForbidden, wire.CodeNotMember)
	wantProblem(t, f.do("alice", "GET", "/v1/channels/nowhere/members", nil), http.StatusNotFound, wire.CodeChannelNotFound)
}
