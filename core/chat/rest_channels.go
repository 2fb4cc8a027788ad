package chat

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/salamhq/salam/wire"
)

// Channel fields bounds (Channel's documentation).
const (
	maxChannelName  = 128
	maxChannelTopic = 1024
)

// apiChannel is a channel in JSON.
type apiChannel struct {
	ID        string  `json:"id"`
	Kind      Kind    `json:"kind"`
	Name      string  `json:"name"`
	Topic     string  `json:"topic"`
	Public    bool    `json:"public"`
	Open      bool    `json:"open"`
	MemberCap int     `json:"member_cap"`
	CreatedBy string  `json:"created_by"`
	CreatedAt apiTime `json:"created_at"`
	LastSeq   uint64  `json:"last_seq"`
}

func toAPIChannel(ch *Channel) apiChannel {
	return apiChannel{ID: ch.ID, Kind: ch.Kind, Name: ch.Name, Topic: ch.Topic, Public: ch.Public,
		Open: ch.Open, MemberCap: ch.MemberCap, CreatedBy: ch.CreatedBy, CreatedAt: apiTime(ch.CreatedAt), LastSeq: ch.LastSeq}
}

// roleOf reads a channel and user's role in it ("" when not a member) from
// the store rather than the access cache: administrative actions must see
// the latest role, whoever changed it.
func (a *api) roleOf(ctx context.Context, channel, user string) (Channel, Role, error) {
	ch, err := a.svc.store.Channel(ctx, channel)
	if errors.Is(err, ErrNotFound) {
		return ch, "", errChannelNotFound(channel)
	} else if err != nil {
		return ch, "", err
	}
	m, err := a.svc.store.Member(ctx, channel, user)
	if errors.Is(err, ErrNotFound) {
		return ch, "", nil
	}
	return ch, m.Role, err
}

// needMember refuses a caller who is not a member (or is banned).
func needMember(role Role, channel string) error {
	switch role {
	case "":
		return accessError(wire.CodeNotMember, channel)
	case RoleBanned:
		return accessError(wire.CodeBanned, channel)
	}
	return nil
}

// needAdmin refuses a caller who is neither owner nor admin.
func needAdmin(role Role, channel, action string) error {
	if err := needMember(role, channel); err != nil {
		return err
	}
	if role != RoleOwner && role != RoleAdmin {
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "only an owner or admin of channel %q may %s", channel, action)
	}
	return nil
}

// errDMFixed refuses administrative changes of a DM, whose two members and
// settings are fixed.
func errDMFixed(channel, action string) error {
	return problemf(http.StatusForbidden, wire.CodePermissionDenied, "cannot %s: channel %q is a direct message", action, channel)
}

type createChannelRequest struct {
	ID        string `json:"id"`
	Kind      Kind   `json:"kind"`
	Name      string `json:"name"`
	Topic     string `json:"topic"`
	Public    bool   `json:"public"`
	Open      bool   `json:"open"`
	MemberCap *int   `json:"member_cap"`
}

// checkCap validates a member cap for a kind of channel.
func (a *api) checkCap(kind Kind, memberCap int) error {
	switch {
	case kind == KindBroadcast && memberCap < 0:
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "member_cap of a broadcast channel: want 0 (unbounded) or more")
	case kind == KindGroup && (memberCap < 2 || memberCap > a.svc.cfg.DefaultMemberCap):
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "member_cap of a group: want 2 to %d", a.svc.cfg.DefaultMemberCap)
	}
	return nil
}

// checkOpen refuses an open channel that is not a public broadcast one:
// publishing without membership is for audiences too large to add as
// members, and a private or group channel's members are its audience.
func checkOpen(kind Kind, public, open bool) error {
	if open && (kind != KindBroadcast || !public) {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "open: only a public broadcast channel may be open")
	}
	return nil
}

// newChannelID returns "g-" and 16 random base32 characters (80 bits).
func newChannelID() string {
	var b [10]byte
	rand.Read(b[:])
	return "g-" + strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// createChannel: POST /v1/channels. The caller becomes the owner.
func (a *api) createChannel(w http.ResponseWriter, r *http.Request, user string) error {
	var req createChannelRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	switch req.Kind {
	case KindGroup, KindBroadcast:
	case KindDM:
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "kind dm: open a direct message with POST /v1/dms")
	default:
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "kind %q: want group or broadcast", req.Kind)
	}
	if req.ID != "" {
		if !wire.ValidChannel(req.ID) {
			return problemf(http.StatusBadRequest, wire.CodeBadChannel, "id %q: want 1–%d ASCII letters, digits and _-:@=+", req.ID, wire.MaxChannelLen)
		}
		if strings.HasPrefix(req.ID, "dm:") {
			return problemf(http.StatusBadRequest, wire.CodeBadChannel, "id %q: the prefix dm: is reserved for direct messages", req.ID)
		}
	}
	if req.Name == "" {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "name is required")
	}
	if err := checkText("name", req.Name, maxChannelName); err != nil {
		return err
	}
	if err := checkText("topic", req.Topic, maxChannelTopic); err != nil {
		return err
	}
	memberCap := a.svc.cfg.DefaultMemberCap
	if req.Kind == KindBroadcast {
		memberCap = 0
	}
	if req.MemberCap != nil {
		memberCap = *req.MemberCap
	}
	if err := a.checkCap(req.Kind, memberCap); err != nil {
		return err
	}
	if err := checkOpen(req.Kind, req.Public, req.Open); err != nil {
		return err
	}
	ch := Channel{ID: req.ID, Kind: req.Kind, Name: req.Name, Topic: req.Topic, Public: req.Public, Open: req.Open,
		MemberCap: memberCap, CreatedBy: user, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	for attempt := 0; ; attempt++ {
		if req.ID == "" {
			ch.ID = newChannelID()
		}
		created, err := a.svc.store.CreateChannel(r.Context(), ch, user)
		if errors.Is(err, ErrExists) {
			if req.ID == "" && attempt < 3 { // a generated id collided: draw again
				continue
			}
			return problemf(http.StatusConflict, wire.CodeConflict, "channel %q already exists", ch.ID)
		} else if err != nil {
			return err
		}
		a.svc.access.forget(created.ID, user)
		w.Header().Set("Location", "/v1/channels/"+created.ID)
		return writeJSON(w, http.StatusCreated, toAPIChannel(&created))
	}
}

// listChannels: GET /v1/channels, the caller's channels (bans left out).
func (a *api) listChannels(w http.ResponseWriter, r *http.Request, user string) error {
	chs, err := a.svc.store.ChannelsOf(r.Context(), user)
	if err != nil {
		return err
	}
	out := make([]apiChannel, len(chs))
	for i := range chs {
		out[i] = toAPIChannel(&chs[i])
	}
	return writeJSON(w, http.StatusOK, out)
}

// getChannel: GET /v1/channels/{id}, for members, and for anyone not
// banned when the channel is public.
func (a *api) getChannel(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	ch, role, err := a.roleOf(r.Context(), id, user)
	if err != nil {
		return err
	}
	if !ch.Public || role == RoleBanned {
		if err := needMember(role, id); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, toAPIChannel(&ch))
}

type updateChannelRequest struct {
	Name      *string `json:"name"`
	Topic     *string `json:"topic"`
	Public    *bool   `json:"public"`
	Open      *bool   `json:"open"`
	MemberCap *int    `json:"member_cap"`
}

// updateChannel: PATCH /v1/channels/{id}, by an owner or admin. Absent
// fields keep their value.
func (a *api) updateChannel(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	var req updateChannelRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	ch, role, err := a.roleOf(r.Context(), id, user)
	if err != nil {
		return err
	}
	if err := needAdmin(role, id, "change it"); err != nil {
		return err
	}
	if ch.Kind == KindDM {
		return errDMFixed(id, "change it")
	}
	if req.Name != nil {
		if *req.Name == "" {
			return problemf(http.StatusBadRequest, wire.CodeBadFrame, "name cannot be empty")
		}
		if err := checkText("name", *req.Name, maxChannelName); err != nil {
			return err
		}
		ch.Name = *req.Name
	}
	if req.Topic != nil {
		if err := checkText("topic", *req.Topic, maxChannelTopic); err != nil {
			return err
		}
		ch.Topic = *req.Topic
	}
	if req.Public != nil {
		ch.Public = *req.Public
	}
	if req.Open != nil {
		ch.Open = *req.Open
	}
	if err := checkOpen(ch.Kind, ch.Public, ch.Open); err != nil { // making an open channel private must close it too
		return err
	}
	if req.MemberCap != nil {
		if err := a.checkCap(ch.Kind, *req.MemberCap); err != nil {
			return err
		}
		ch.MemberCap = *req.MemberCap
	}
	if req == (updateChannelRequest{}) {
		return writeJSON(w, http.StatusOK, toAPIChannel(&ch))
	}
	updated, err := a.svc.store.UpdateChannel(r.Context(), ch)
	if errors.Is(err, ErrNotFound) {
		return errChannelNotFound(id)
	} else if err != nil {
		return err
	}
	a.svc.access.forgetChannel(id) // public/private and open/closed change everyone's answer
	return writeJSON(w, http.StatusOK, toAPIChannel(&updated))
}

// deleteChannel: DELETE /v1/channels/{id}, by an owner, with its members
// and messages.
func (a *api) deleteChannel(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	ch, role, err := a.roleOf(r.Context(), id, user)
	if err != nil {
		return err
	}
	if err := needMember(role, id); err != nil {
		return err
	}
	if ch.Kind == KindDM {
		return errDMFixed(id, "delete it")
	}
	if role != RoleOwner {
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "only an owner of channel %q may delete it", id)
	}
	if err := a.svc.store.DeleteChannel(r.Context(), id); errors.Is(err, ErrNotFound) {
		return errChannelNotFound(id)
	} else if err != nil {
		return err
	}
	a.svc.access.forgetChannel(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type openDMRequest struct {
	User string `json:"user"`
}

// openDM: POST /v1/dms, the direct messages between the caller and another
// user, created on first use. The DM's id is DMChannelID of the pair, so
// both users (and every retry) find the same channel. Creation is two
// store writes (the channel with the caller, then the other user); a
// later open completes a DM that lost its second write.
func (a *api) openDM(w http.ResponseWriter, r *http.Request, user string) error {
	var req openDMRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := checkUser("user", req.User); err != nil {
		return err
	}
	if req.User == user {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "user: a direct message needs another user than you")
	}
	ctx, id := r.Context(), DMChannelID(user, req.User)
	status := http.StatusOK
	ch, err := a.svc.store.Channel(ctx, id)
	if errors.Is(err, ErrNotFound) {
		ch, err = a.svc.store.CreateChannel(ctx, Channel{ID: id, Kind: KindDM, MemberCap: 2, CreatedBy: user,
			CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}, user)
		if err == nil {
			status = http.StatusCreated
		} else if errors.Is(err, ErrExists) { // the other user opened it at the same moment
			ch, err = a.svc.store.Channel(ctx, id)
		}
	}
	if err != nil {
		return err
	}
	for _, u := range []string{user, req.User} {
		_, err := a.svc.store.Member(ctx, id, u)
		if errors.Is(err, ErrNotFound) {
			_, err = a.svc.store.PutMember(ctx, id, u, RoleMember)
		}
		if err != nil {
			return err
		}
		a.svc.access.forget(id, u)
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/v1/channels/"+id)
	}
	return writeJSON(w, status, toAPIChannel(&ch))
}
