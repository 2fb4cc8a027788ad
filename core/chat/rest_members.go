package chat

import (
	"errors"
	"net/http"

	"github.com/salamhq/salam/wire"
)

// Membership rules of the REST API:
//   - anyone not banned may join a public group as a member;
//   - owners and admins add members and change roles; only owners make
//     owners and change the role of an admin or owner;
//   - nobody changes their own role, removes an owner, or bans an owner;
//   - only owners remove or ban admins;
//   - removing a banned member lifts the ban (owners and admins), and a
//     banned user can neither join nor leave (which would lift the ban);
//   - a DM's two members are fixed.
//
// Every change forgets the access cache entry of the user it changed.

// apiMember is a membership in JSON.
type apiMember struct {
	User         string  `json:"user"`
	Role         Role    `json:"role"`
	JoinedAt     apiTime `json:"joined_at"`
	ReadSeq      uint64  `json:"read_seq"`
	DeliveredSeq uint64  `json:"delivered_seq"`
}

func toAPIMember(m *Member) apiMember {
	return apiMember{User: m.User, Role: m.Role, JoinedAt: apiTime(m.JoinedAt), ReadSeq: m.ReadSeq, DeliveredSeq: m.DeliveredSeq}
}

// maxMembersPage bounds one page of GET /v1/channels/{id}/members.
const maxMembersPage = 200

type membersPage struct {
	Members []apiMember `json:"members"`
	More    bool        `json:"more"`
	Next    string      `json:"next,omitempty"` // the after of the next page, when More
}

// listMembers: GET /v1/channels/{id}/members?after=&limit=, for members,
// ordered by user. Banned users are listed to owners and admins only.
func (a *api) listMembers(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	limit, err := queryLimit(r, 50, maxMembersPage)
	if err != nil {
		return err
	}
	_, role, err := a.roleOf(r.Context(), id, user)
	if err != nil {
		return err
	}
	if err := needMember(role, id); err != nil {
		return err
	}
	ms, err := a.svc.store.Members(r.Context(), id, r.URL.Query().Get("after"), limit+1)
	if err != nil {
		return err
	}
	page := membersPage{Members: make([]apiMember, 0, len(ms))}
	if len(ms) > limit {
		ms, page.More = ms[:limit], true
		page.Next = ms[limit-1].User
	}
	seesBans := role == RoleOwner || role == RoleAdmin
	for i := range ms {
		if ms[i].Role != RoleBanned || seesBans {
			page.Members = append(page.Members, toAPIMember(&ms[i]))
		}
	}
	return writeJSON(w, http.StatusOK, page)
}

type putMemberRequest struct {
	User string `json:"user"`
	Role Role   `json:"role"`
}

// putMember: POST /v1/channels/{id}/members. 201 for a new member, 200
// for a role change or a membership that already was as asked.
func (a *api) putMember(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	var req putMemberRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := checkUser("user", req.User); err != nil {
		return err
	}
	switch req.Role {
	case "":
		req.Role = RoleMember
	case RoleOwner, RoleAdmin, RoleMember:
	case RoleBanned:
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "role banned: ban with POST /v1/channels/%s/bans", id)
	default:
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "role %q: want owner, admin or member", req.Role)
	}
	ctx := r.Context()
	ch, role, err := a.roleOf(ctx, id, user)
	if err != nil {
		return err
	}
	target := role
	if req.User != user {
		if err := needAdmin(role, id, "add members or change roles"); err != nil {
			return err
		}
		if _, target, err = a.roleOf(ctx, id, req.User); err != nil {
			return err
		}
	}
	if ch.Kind == KindDM {
		return errDMFixed(id, "change its members")
	}
	switch {
	case target == RoleBanned && req.User == user:
		return accessError(wire.CodeBanned, id)
	case target == RoleBanned:
		return problemf(http.StatusForbidden, wire.CodeBanned, "%s is banned from channel %q; remove the ban first", req.User, id)
	case target == req.Role:
		m, err := a.svc.store.Member(ctx, id, req.User)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, toAPIMember(&m))
	case req.User == user && target != "":
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "you cannot change your own role")
	case req.User == user && (ch.Kind != KindGroup || !ch.Public):
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "channel %q is not a public group: ask an owner or admin to add you", id)
	case req.User == user && req.Role != RoleMember:
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "you can only join as a member")
	case req.User != user && role != RoleOwner && (req.Role == RoleOwner || target == RoleOwner || target == RoleAdmin):
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "only an owner may make owners or change the role of an admin or owner")
	}
	m, err := a.svc.store.PutMember(ctx, id, req.User, req.Role)
	switch {
	case errors.Is(err, ErrFull):
		return problemf(http.StatusConflict, wire.CodeChannelFull, "channel %q has reached its member cap of %d", id, ch.MemberCap)
	case errors.Is(err, ErrNotFound):
		return errChannelNotFound(id)
	case err != nil:
		return err
	}
	a.svc.access.forget(id, req.User)
	status := http.StatusOK
	if target == "" {
		status = http.StatusCreated
	}
	return writeJSON(w, status, toAPIMember(&m))
}

// removeMember: DELETE /v1/channels/{id}/members/{user}: leave, remove a
// member, or lift a ban.
func (a *api) removeMember(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	target := r.PathValue("user")
	if err := checkUser("user", target); err != nil {
		return err
	}
	ctx := r.Context()
	ch, role, err := a.roleOf(ctx, id, user)
	if err != nil {
		return err
	}
	targetRole := role
	if target != user {
		if err := needAdmin(role, id, "remove members"); err != nil {
			return err
		}
		if _, targetRole, err = a.roleOf(ctx, id, target); err != nil {
			return err
		}
	}
	switch {
	case ch.Kind == KindDM:
		return errDMFixed(id, "change its members")
	case target == user && role == RoleBanned:
		return accessError(wire.CodeBanned, id)
	case targetRole == "":
		return problemf(http.StatusNotFound, wire.CodeNotMember, "%s is not a member of channel %q", target, id)
	case targetRole == RoleOwner:
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "an owner cannot leave or be removed; delete the channel or have another owner change your role")
	case targetRole == RoleAdmin && target != user && role != RoleOwner:
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "only an owner may remove an admin")
	}
	if err := a.svc.store.RemoveMember(ctx, id, target); errors.Is(err, ErrNotFound) {
		return problemf(http.StatusNotFound, wire.CodeNotMember, "%s is not a member of channel %q", target, id)
	} else if err != nil {
		return err
	}
	a.svc.memberLeft(id, target)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type banRequest struct {
	User string `json:"user"`
}

// ban: POST /v1/channels/{id}/bans. The user, member or not, gets the role
// banned: out of the channel and unable to rejoin until the ban is removed.
func (a *api) ban(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	var req banRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := checkUser("user", req.User); err != nil {
		return err
	}
	ctx := r.Context()
	ch, role, err := a.roleOf(ctx, id, user)
	if err != nil {
		return err
	}
	if err := needAdmin(role, id, "ban"); err != nil {
		return err
	}
	_, target, err := a.roleOf(ctx, id, req.User)
	if err != nil {
		return err
	}
	switch {
	case ch.Kind == KindDM:
		return errDMFixed(id, "ban")
	case req.User == user:
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "you cannot ban yourself")
	case target == RoleOwner:
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "an owner cannot be banned")
	case target == RoleAdmin && role != RoleOwner:
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "only an owner may ban an admin")
	}
	m, err := a.svc.store.PutMember(ctx, id, req.User, RoleBanned)
	if errors.Is(err, ErrNotFound) {
		return errChannelNotFound(id)
	} else if err != nil {
		return err
	}
	a.svc.memberLeft(id, req.User)
	return writeJSON(w, http.StatusOK, toAPIMember(&m))
}
