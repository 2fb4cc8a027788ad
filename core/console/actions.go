package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/wire"
)

// Admin actions. Each is appended to the audit log before it is carried
// out (no record, no action), and goes through the public REST API with
// the admin's own token, so the console adds no second way to change
// state: the same checks, events and errors apply.

const (
	maxActionBody = 64 << 10
	maxMembers    = 100
)

// decodeAction reads a JSON body strictly into v.
func decodeAction(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeProblem(w, http.StatusBadRequest, "Content-Type: want application/json")
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxActionBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, http.StatusBadRequest, "body: %v", err)
		return false
	}
	return noParams(w, r)
}

type createChannelAction struct {
	ID      string   `json:"id"`
	Members []string `json:"members"`
}

// createChannel: POST /console/api/channels {"id", "members"}: a group
// owned by the admin, with the members added.
func (c *Console) createChannel(w http.ResponseWriter, r *http.Request) {
	var a createChannelAction
	if !decodeAction(w, r, &a) {
		return
	}
	if !wire.ValidChannel(a.ID) || strings.HasPrefix(a.ID, "dm:") {
		writeProblem(w, http.StatusBadRequest, "id: not a valid group channel id")
		return
	}
	if len(a.Members) > maxMembers {
		writeProblem(w, http.StatusBadRequest, "members: at most %d", maxMembers)
		return
	}
	for _, m := range a.Members {
		if presence.ValidID("user", m) != nil || len(m) > auth.MaxSubjectLen {
			writeProblem(w, http.StatusBadRequest, "members: %q is not a valid user id", m)
			return
		}
	}
	if c.rest == nil {
		writeProblem(w, http.StatusServiceUnavailable, "no REST API in this process")
		return
	}
	if err := c.audit.record(r.Context(), actor(r), "action.create_channel", a.ID, strings.Join(a.Members, ",")); err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "the audit log is unavailable: %v", err)
		return
	}
	steps := []struct {
		path string
		body any
	}{{"/v1/channels", map[string]any{"id": a.ID, "name": a.ID, "kind": "group"}}}
	for _, m := range a.Members {
		steps = append(steps, struct {
			path string
			body any
		}{"/v1/channels/" + url.PathEscape(a.ID) + "/members", map[string]string{"user": m}})
	}
	for _, s := range steps {
		if rec := c.callREST(r, http.MethodPost, s.path, s.body); rec.Code >= 300 {
			copyResponse(w, rec)
			return
		}
	}
	writeJSON(w, map[string]any{"id": a.ID, "members": a.Members})
}

type sendAction struct {
	Channel string `json:"channel"`
	MsgID   string `json:"msg_id"`
}

// announceSend: POST /console/api/sends {"channel", "msg_id"}: the page
// records a send before it publishes over its own WebSocket (the message
// itself is an ordinary publish by the admin's user, stored as such).
func (c *Console) announceSend(w http.ResponseWriter, r *http.Request) {
	var a sendAction
	if !decodeAction(w, r, &a) {
		return
	}
	if !wire.ValidChannel(a.Channel) || a.MsgID == "" || len(a.MsgID) > maxMsgID {
		writeProblem(w, http.StatusBadRequest, "channel and msg_id (1–%d bytes) are required", maxMsgID)
		return
	}
	if err := c.audit.record(r.Context(), actor(r), "action.send", a.Channel, a.MsgID); err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "the audit log is unavailable: %v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// callREST runs one REST request in-process with the caller's token.
func (c *Console) callREST(r *http.Request, method, path string, body any) *httptest.ResponseRecorder {
	b, _ := json.Marshal(body)
	req := httptest.NewRequestWithContext(r.Context(), method, path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+auth.TokenFromRequest(r.Header.Get("Authorization"), r.URL.RawQuery))
	rec := httptest.NewRecorder()
	c.rest.ServeHTTP(rec, req)
	return rec
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}
