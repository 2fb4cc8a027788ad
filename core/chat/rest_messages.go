package chat

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/salamhq/salam/wire"
)

// apiMessage is a message in JSON. The body is "body" when it is valid
// UTF-8 and "body_b64" (standard base64) otherwise, as the wire's JSON
// codec does with "d" and "d64".
type apiMessage struct {
	Channel     string         `json:"channel"`
	Seq         uint64         `json:"seq"`
	Sender      string         `json:"sender"`
	ClientID    string         `json:"client_id"`
	ContentType string         `json:"content_type"`
	Body        *string        `json:"body,omitempty"`
	BodyB64     string         `json:"body_b64,omitempty"`
	Attachments []Attachment   `json:"attachments,omitempty"`
	ReplyTo     uint64         `json:"reply_to,omitempty"`
	CreatedAt   apiTime        `json:"created_at"`
	EditedAt    *apiTime       `json:"edited_at,omitempty"`
	Deleted     bool           `json:"deleted"`
	Pinned      bool           `json:"pinned"`
	Reactions   map[string]int `json:"reactions,omitempty"`
}

func toAPIMessage(m *Message) apiMessage {
	out := apiMessage{Channel: m.Channel, Seq: m.Seq, Sender: m.Sender, ClientID: m.ClientID, ContentType: m.ContentType,
		Attachments: m.Attachments, ReplyTo: m.ReplyTo, CreatedAt: apiTime(m.CreatedAt), EditedAt: optTime(m.EditedAt),
		Deleted: m.Deleted, Pinned: m.Pinned, Reactions: m.Reactions}
	switch {
	case m.Deleted, len(m.Body) == 0:
	case utf8.Valid(m.Body):
		body := string(m.Body)
		out.Body = &body
	default:
		out.BodyB64 = base64.StdEncoding.EncodeToString(m.Body)
	}
	return out
}

// content is a message body in a request: text or base64, not both.
type content struct {
	ContentType *string `json:"content_type"`
	Body        *string `json:"body"`
	BodyB64     *string `json:"body_b64"`
}

// bytes returns the body; required says whether one of body and body_b64
// must be present.
func (c *content) bytes(required bool, maxBody int) ([]byte, error) {
	var body []byte
	switch {
	case c.Body != nil && c.BodyB64 != nil:
		return nil, problemf(http.StatusBadRequest, wire.CodeBadFrame, "body and body_b64 are exclusive")
	case c.Body != nil:
		body = []byte(*c.Body)
	case c.BodyB64 != nil:
		var err error
		if body, err = base64.StdEncoding.Strict().DecodeString(*c.BodyB64); err != nil {
			return nil, problemf(http.StatusBadRequest, wire.CodeBadFrame, "body_b64 is not padded standard base64")
		}
	case required:
		return nil, problemf(http.StatusBadRequest, wire.CodeBadFrame, "body or body_b64 is required")
	}
	if len(body) > maxBody {
		return nil, problemf(http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "message body larger than %d bytes", maxBody)
	}
	if c.ContentType != nil {
		if *c.ContentType == "" {
			return nil, problemf(http.StatusBadRequest, wire.CodeBadFrame, "content_type cannot be empty; leave it out for text/plain")
		}
		if err := checkText("content_type", *c.ContentType, 128); err != nil {
			return nil, err
		}
	}
	return body, nil
}

type sendRequest struct {
	ClientID    string       `json:"client_id"`
	Attachments []Attachment `json:"attachments"`
	ReplyTo     uint64       `json:"reply_to"`
	content
}

// Attachment metadata bounds.
const (
	maxAttachmentURL  = 2048
	maxAttachmentText = 255
)

func checkAttachments(as []Attachment) error {
	if len(as) > wire.MaxAttachments {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "more than %d attachments", wire.MaxAttachments)
	}
	for i, at := range as {
		field := "attachments[" + strconv.Itoa(i) + "]"
		switch {
		case at.URL == "":
			return problemf(http.StatusBadRequest, wire.CodeBadFrame, "%s.url is required", field)
		case at.Size < 0:
			return problemf(http.StatusBadRequest, wire.CodeBadFrame, "%s.size cannot be negative", field)
		}
		if err := checkText(field+".url", at.URL, maxAttachmentURL); err != nil {
			return err
		}
		if err := checkText(field+".mime", at.Mime, maxAttachmentText); err != nil {
			return err
		}
		if err := checkText(field+".name", at.Name, maxAttachmentText); err != nil {
			return err
		}
	}
	return nil
}

// sendMessage: POST /v1/channels/{id}/messages, through Service.Send: the
// response comes after the commit. 201 for a new message, 200 with the
// original for a retry with the same client_id and content.
func (a *api) sendMessage(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	var req sendRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.ClientID == "" {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "client_id is required: the idempotency key of the message")
	}
	if err := checkText("client_id", req.ClientID, a.svc.cfg.MaxClientID); err != nil {
		return err
	}
	body, err := req.bytes(len(req.Attachments) == 0, a.svc.cfg.MaxBody)
	if err != nil {
		return err
	}
	if err := checkAttachments(req.Attachments); err != nil {
		return err
	}
	ctx := r.Context()
	if err := a.canPublish(ctx, id, user); err != nil {
		return err
	}
	if req.ReplyTo != 0 {
		if _, err := a.svc.store.Message(ctx, id, req.ReplyTo); err != nil {
			return messageStoreError(err, id, req.ReplyTo)
		}
	}
	m := NewMessage{Channel: id, Sender: user, ClientID: req.ClientID, Body: body, Attachments: req.Attachments, ReplyTo: req.ReplyTo}
	if req.ContentType != nil {
		m.ContentType = *req.ContentType
	}
	msg, duplicate, err := a.svc.Send(ctx, m)
	switch {
	case errors.Is(err, ErrInvalid):
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "%s", strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	case errors.Is(err, ErrConflict):
		return problemf(http.StatusConflict, wire.CodeConflict, "client_id %q was already used for a message with other content", req.ClientID)
	case errors.Is(err, ErrNotFound):
		return errChannelNotFound(id)
	case err != nil:
		return err
	}
	status := http.StatusCreated
	if duplicate {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/v1/channels/"+id+"/messages/"+strconv.FormatUint(msg.Seq, 10))
	return writeJSON(w, status, toAPIMessage(&msg))
}

// canPublish and canRead ask the access cache, as the WebSocket path does.
func (a *api) canPublish(ctx context.Context, channel, user string) error {
	code, err := a.svc.access.canPublish(ctx, channel, user)
	if err != nil {
		return err
	}
	return accessError(code, channel)
}

func (a *api) canRead(ctx context.Context, channel, user string) error {
	code, err := a.svc.access.canRead(ctx, channel, user)
	if err != nil {
		return err
	}
	return accessError(code, channel)
}

type messagesPage struct {
	Messages []apiMessage `json:"messages"`
	More     bool         `json:"more"`
}

// history: GET /v1/channels/{id}/messages?before=|after=|around=&limit=&order=,
// readable by whoever may subscribe to the channel.
func (a *api) history(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	q := HistoryQuery{Channel: id}
	if q.Before, err = queryUint(r, "before"); err != nil {
		return err
	}
	if q.After, err = queryUint(r, "after"); err != nil {
		return err
	}
	if q.Around, err = queryUint(r, "around"); err != nil {
		return err
	}
	if (q.Before != 0 && q.After != 0) || (q.Before != 0 && q.Around != 0) || (q.After != 0 && q.Around != 0) {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "at most one of before, after and around")
	}
	if q.Limit, err = queryLimit(r, 50, MaxHistoryLimit); err != nil {
		return err
	}
	switch order := r.URL.Query().Get("order"); order {
	case "", "desc":
	case "asc":
		q.Oldest = true
	default:
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "query parameter order=%q: want asc or desc", order)
	}
	if err := a.canRead(r.Context(), id, user); err != nil {
		return err
	}
	msgs, more, err := a.svc.readHistory(r.Context(), q)
	if err != nil {
		return err
	}
	page := messagesPage{Messages: make([]apiMessage, len(msgs)), More: more}
	for i := range msgs {
		page.Messages[i] = toAPIMessage(&msgs[i])
	}
	return writeJSON(w, http.StatusOK, page)
}

// message reads the {id} and {seq} of the path and the message they name,
// after checking that user may publish in the channel.
func (a *api) message(r *http.Request, user string) (Message, error) {
	id, err := channelParam(r)
	if err != nil {
		return Message{}, err
	}
	seq, err := seqParam(r)
	if err != nil {
		return Message{}, err
	}
	if err := a.canPublish(r.Context(), id, user); err != nil {
		return Message{}, err
	}
	m, err := a.svc.store.Message(r.Context(), id, seq)
	if err != nil {
		return Message{}, messageStoreError(err, id, seq)
	}
	return m, nil
}

// event publishes a change of message m, made by user, on the channel's
// event subject.
func (a *api) event(kind uint8, m *Message, user string, at time.Time) {
	f := &wire.Frame{Type: wire.TypeEvent, Kind: kind, Channel: m.Channel, Seq: m.Seq, From: user, Time: at.UnixMilli()}
	switch kind {
	case wire.EventEdited:
		f.ContentType, f.Data = contentTypeOnWire(m.ContentType), m.Body
	case wire.EventReactions:
		for emoji, n := range m.Reactions {
			f.Reactions = append(f.Reactions, wire.Reaction{Emoji: emoji, Count: uint32(n)})
		}
		sortReactions(f.Reactions)
	}
	a.svc.publish(f)
}

type editRequest struct {
	content
}

// editMessage: PATCH /v1/channels/{id}/messages/{seq}, by its sender while
// a member. Without content_type the message keeps its own.
func (a *api) editMessage(w http.ResponseWriter, r *http.Request, user string) error {
	var req editRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	body, err := req.bytes(true, a.svc.cfg.MaxBody)
	if err != nil {
		return err
	}
	m, err := a.message(r, user)
	if err != nil {
		return err
	}
	switch {
	case m.Deleted:
		return errMessageDeleted(m.Channel, m.Seq)
	case m.Sender != user:
		return problemf(http.StatusForbidden, wire.CodePermissionDenied, "only the sender may edit a message")
	}
	contentType := m.ContentType
	if req.ContentType != nil {
		contentType = *req.ContentType
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	edited, err := a.svc.store.Edit(r.Context(), m.Channel, m.Seq, contentType, body, at)
	if err != nil {
		return messageStoreError(err, m.Channel, m.Seq)
	}
	a.event(wire.EventEdited, &edited, user, at)
	return writeJSON(w, http.StatusOK, toAPIMessage(&edited))
}

// deleteMessage: DELETE /v1/channels/{id}/messages/{seq}, by its sender
// (member or not: a user may always erase what they wrote) or an owner or
// admin. A pinned message is unpinned. Deleting a tombstone returns it.
func (a *api) deleteMessage(w http.ResponseWriter, r *http.Request, user string) error {
	id, seq, err := messageParams(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	_, role, err := a.roleOf(ctx, id, user)
	if err != nil {
		return err
	}
	m, err := a.svc.store.Message(ctx, id, seq)
	if err != nil {
		return messageStoreError(err, id, seq)
	}
	if m.Sender != user {
		if err := needAdmin(role, id, "delete the messages of others"); err != nil {
			return err
		}
	}
	now := time.Now()
	if !m.Deleted {
		if m, err = a.svc.store.Delete(ctx, id, seq); err != nil {
			return messageStoreError(err, id, seq)
		}
		a.event(wire.EventDeleted, &m, user, now)
	}
	// Unpinning is a second write: a retry after it failed completes it.
	if m.Pinned {
		if err := a.svc.store.Pin(ctx, id, seq, false); err != nil {
			return messageStoreError(err, id, seq)
		}
		m.Pinned = false
		a.event(wire.EventUnpinned, &m, user, now)
	}
	return writeJSON(w, http.StatusOK, toAPIMessage(&m))
}

// maxEmoji bounds a reaction, in bytes.
const maxEmoji = 64

type reactionsResponse struct {
	Reactions map[string]int `json:"reactions"`
}

func (a *api) react(w http.ResponseWriter, r *http.Request, user string) error {
	return a.setReaction(w, r, user, true)
}

func (a *api) unreact(w http.ResponseWriter, r *http.Request, user string) error {
	return a.setReaction(w, r, user, false)
}

// setReaction: PUT or DELETE /v1/channels/{id}/messages/{seq}/reactions/{emoji},
// by members. Both are idempotent and return the message's counts. A
// message holds at most wire.MaxReactions distinct reactions (what a wire
// frame may carry).
func (a *api) setReaction(w http.ResponseWriter, r *http.Request, user string, add bool) error {
	emoji := r.PathValue("emoji")
	if emoji == "" || len(emoji) > maxEmoji || !utf8.ValidString(emoji) || strings.IndexFunc(emoji, unicode.IsSpace) >= 0 ||
		strings.IndexFunc(emoji, unicode.IsControl) >= 0 {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "emoji: want 1–%d bytes of UTF-8 without spaces or control characters", maxEmoji)
	}
	m, err := a.message(r, user)
	if err != nil {
		return err
	}
	if m.Deleted {
		return errMessageDeleted(m.Channel, m.Seq)
	}
	if _, ok := m.Reactions[emoji]; add && !ok && len(m.Reactions) >= wire.MaxReactions {
		return problemf(http.StatusConflict, wire.CodeTooLarge, "message %d already has %d different reactions", m.Seq, wire.MaxReactions)
	}
	counts, err := a.svc.store.React(r.Context(), m.Channel, m.Seq, user, emoji, add)
	if err != nil {
		return messageStoreError(err, m.Channel, m.Seq)
	}
	if !maps.Equal(counts, m.Reactions) {
		m.Reactions = counts
		a.event(wire.EventReactions, &m, user, time.Now())
	}
	if counts == nil {
		counts = map[string]int{}
	}
	return writeJSON(w, http.StatusOK, reactionsResponse{Reactions: counts})
}

func (a *api) pin(w http.ResponseWriter, r *http.Request, user string) error {
	return a.setPinned(w, r, user, true)
}

func (a *api) unpin(w http.ResponseWriter, r *http.Request, user string) error {
	return a.setPinned(w, r, user, false)
}

// setPinned: PUT or DELETE /v1/channels/{id}/messages/{seq}/pin, by owners
// and admins, and by both members of a DM. A tombstone cannot be pinned.
// Returns the message; an event only when the pin changed.
func (a *api) setPinned(w http.ResponseWriter, r *http.Request, user string, pinned bool) error {
	id, seq, err := messageParams(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ch, role, err := a.roleOf(ctx, id, user)
	if err != nil {
		return err
	}
	if ch.Kind == KindDM {
		err = needMember(role, id)
	} else {
		err = needAdmin(role, id, "pin messages")
	}
	if err != nil {
		return err
	}
	m, err := a.svc.store.Message(ctx, id, seq)
	switch {
	case err != nil:
		return messageStoreError(err, id, seq)
	case pinned && m.Deleted:
		return errMessageDeleted(id, seq)
	case m.Pinned == pinned:
		return writeJSON(w, http.StatusOK, toAPIMessage(&m))
	}
	if err := a.svc.store.Pin(ctx, id, seq, pinned); err != nil {
		return messageStoreError(err, id, seq)
	}
	m.Pinned = pinned
	kind := wire.EventUnpinned
	if pinned {
		kind = wire.EventPinned
	}
	a.event(kind, &m, user, time.Now())
	return writeJSON(w, http.StatusOK, toAPIMessage(&m))
}

// pins: GET /v1/channels/{id}/pins, the pinned messages by sequence.
func (a *api) pins(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	if err := a.canRead(r.Context(), id, user); err != nil {
		return err
	}
	msgs, err := a.svc.store.Pinned(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]apiMessage, len(msgs))
	for i := range msgs {
		out[i] = toAPIMessage(&msgs[i])
	}
	return writeJSON(w, http.StatusOK, out)
}

// messageReceipts is who has a message: read it, have it on a device
// (delivered, not read yet), or neither. The sender is not listed.
type messageReceipts struct {
	Seq       uint64   `json:"seq"`
	Read      []string `json:"read"`
	Delivered []string `json:"delivered"`
	Pending   []string `json:"pending"`
}

// messageReceipts: GET /v1/channels/{id}/messages/{seq}/receipts, the
// "message info" of a group or DM, for its members. It comes from the
// members' cursors: sequences are gap-free and reach a member in order, so
// a cursor at or past seq covers the message. A broadcast channel keeps no
// per-viewer state, so it has none.
func (a *api) messageReceipts(w http.ResponseWriter, r *http.Request, user string) error {
	id, seq, err := messageParams(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ch, role, err := a.roleOf(ctx, id, user)
	if err != nil {
		return err
	}
	if err := needMember(role, id); err != nil {
		return err
	}
	if ch.Kind == KindBroadcast {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "broadcast channel %q keeps no per-viewer receipts", id)
	}
	m, err := a.svc.store.Message(ctx, id, seq) // a tombstone too: its receipts stay true
	if err != nil {
		return messageStoreError(err, id, seq)
	}
	out := messageReceipts{Seq: seq, Read: []string{}, Delivered: []string{}, Pending: []string{}}
	for after := ""; ; {
		ms, err := a.svc.store.Members(ctx, id, after, maxMembersPage)
		if err != nil {
			return err
		}
		for _, mb := range ms {
			switch {
			case mb.User == m.Sender || mb.Role == RoleBanned:
			case mb.ReadSeq >= seq:
				out.Read = append(out.Read, mb.User)
			case mb.DeliveredSeq >= seq:
				out.Delivered = append(out.Delivered, mb.User)
			default:
				out.Pending = append(out.Pending, mb.User)
			}
		}
		if len(ms) < maxMembersPage {
			return writeJSON(w, http.StatusOK, out)
		}
		after = ms[len(ms)-1].User
	}
}

type readRequest struct {
	Seq *uint64 `json:"seq"`
}

type readResponse struct {
	ReadSeq uint64 `json:"read_seq"`
}

// markRead: PUT /v1/channels/{id}/read. The read cursor only moves
// forward and stops at the channel's last message; when it moved, a read
// receipt goes to the channel as from the WebSocket.
func (a *api) markRead(w http.ResponseWriter, r *http.Request, user string) error {
	id, err := channelParam(r)
	if err != nil {
		return err
	}
	var req readRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Seq == nil {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "seq is required")
	}
	if err := a.canPublish(r.Context(), id, user); err != nil {
		return err
	}
	cursor, moved, err := a.svc.store.MoveRead(r.Context(), id, user, *req.Seq)
	if errors.Is(err, ErrNotFound) {
		return accessError(wire.CodeNotMember, id)
	} else if err != nil {
		return err
	}
	if moved {
		a.svc.publish(&wire.Frame{Type: wire.TypeReceipt, Channel: id, From: user, Seq: cursor, Kind: wire.ReceiptRead,
			Time: time.Now().UnixMilli()})
	}
	return writeJSON(w, http.StatusOK, readResponse{ReadSeq: cursor})
}

type apiUnread struct {
	Channel string `json:"channel"`
	LastSeq uint64 `json:"last_seq"`
	ReadSeq uint64 `json:"read_seq"`
	Count   uint64 `json:"count"`
}

// unread: GET /v1/unread, the caller's unread state in each channel.
func (a *api) unread(w http.ResponseWriter, r *http.Request, user string) error {
	us, err := a.svc.store.Unread(r.Context(), user)
	if err != nil {
		return err
	}
	out := make([]apiUnread, len(us))
	for i, u := range us {
		out[i] = apiUnread{Channel: u.Channel, LastSeq: u.LastSeq, ReadSeq: u.ReadSeq, Count: u.Count}
	}
	return writeJSON(w, http.StatusOK, out)
}

// messageParams reads the {id} and {seq} of a message route.
func messageParams(r *http.Request) (string, uint64, error) {
	id, err := channelParam(r)
	if err != nil {
		return "", 0, err
	}
	seq, err := seqParam(r)
	return id, seq, err
}
