package calls

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/wire"
)

// The REST routes of calls. openapi.yaml documents every route of the
// routes table; a test keeps the two equal and checks every answer of the
// API tests against it.

type route struct {
	method, path string
	handle       func(s *Service, w http.ResponseWriter, r *http.Request, caller string)
}

var routes = []route{
	{http.MethodGet, "/v1/channels/{id}/calls", (*Service).listCalls},
	{http.MethodGet, "/v1/calls/ice-servers", (*Service).iceServers},
}

// Routes returns "METHOD /path" patterns of the API, to mount on a mux
// that serves other /v1 routes too.
func Routes() []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}

// NewAPI serves the calls REST routes:
//
//	GET /v1/channels/{id}/calls?before=&limit=   the channel's call history, newest first
//	GET /v1/calls/ice-servers                    STUN and TURN servers, with TURN credentials
//
// authenticate identifies the caller with the WebSocket's check. Every
// error is an RFC 9457 problem carrying the stable wire error code.
func NewAPI(svc *Service, authenticate func(*http.Request) (string, error)) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			user, err := authenticate(r)
			if err != nil || user == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="salam"`)
				writeProblem(w, http.StatusUnauthorized, wire.CodePermissionDenied, "a valid bearer token is required")
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
			defer cancel()
			rt.handle(svc, w, r.WithContext(ctx), user)
		})
	}
	return mux
}

// callJSON is a Call as the API shows it.
type callJSON struct {
	ID           string            `json:"id"`
	Channel      string            `json:"channel"`
	Caller       string            `json:"caller"`
	SFU          bool              `json:"sfu,omitempty"`
	CreatedAt    string            `json:"created_at"`
	AnsweredAt   string            `json:"answered_at,omitempty"`
	EndedAt      string            `json:"ended_at,omitempty"`
	EndReason    EndReason         `json:"end_reason,omitempty"`
	DurationMS   int64             `json:"duration_ms"`
	Participants []participantJSON `json:"participants"`
}

type participantJSON struct {
	User     string `json:"user"`
	JoinedAt string `json:"joined_at"`
	LeftAt   string `json:"left_at,omitempty"`
}

type callsPage struct {
	Calls []callJSON `json:"calls"`
	More  bool       `json:"more,omitempty"`
	Next  string     `json:"next,omitempty"` // the before of the next page, when More
}

func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func toJSON(c *Call, now time.Time) callJSON {
	out := callJSON{ID: c.ID, Channel: c.Channel, Caller: c.Caller, SFU: c.SFU, CreatedAt: timeJSON(c.CreatedAt),
		AnsweredAt: timeJSON(c.AnsweredAt), EndedAt: timeJSON(c.EndedAt), EndReason: c.EndReason,
		DurationMS: c.Duration(now).Milliseconds(), Participants: make([]participantJSON, len(c.Participants))}
	for i, p := range c.Participants {
		out.Participants[i] = participantJSON{User: p.User, JoinedAt: timeJSON(p.JoinedAt), LeftAt: timeJSON(p.LeftAt)}
	}
	return out
}

// listCalls: members (not banned) read a channel's calls, newest first.
func (s *Service) listCalls(w http.ResponseWriter, r *http.Request, caller string) {
	channel := r.PathValue("id")
	if !wire.ValidChannel(channel) {
		writeProblem(w, http.StatusNotFound, wire.CodeChannelNotFound, "no such channel")
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPage {
			writeProblem(w, http.StatusBadRequest, wire.CodeBadFrame, "limit must be 1–100")
			return
		}
		limit = n
	}
	if code, err := s.channelAccess(r.Context(), channel, caller); err != nil || code != 0 {
		s.writeError(w, code, err)
		return
	}
	page := Page{Channel: channel, Limit: limit + 1}
	if before := r.URL.Query().Get("before"); before != "" {
		c, err := s.store.Call(r.Context(), before)
		if errors.Is(err, ErrNotFound) || (err == nil && c.Channel != channel) {
			writeProblem(w, http.StatusBadRequest, wire.CodeBadFrame, "before names no call of this channel")
			return
		} else if err != nil {
			s.writeError(w, 0, err)
			return
		}
		page.Before, page.BeforeID = c.CreatedAt, c.ID
	}
	cs, err := s.store.ChannelCalls(r.Context(), page)
	if err != nil {
		s.writeError(w, 0, err)
		return
	}
	out := callsPage{Calls: make([]callJSON, 0, len(cs))}
	if len(cs) > limit {
		cs, out.More = cs[:limit], true
		out.Next = cs[limit-1].ID
	}
	now := time.Now()
	for i := range cs {
		out.Calls = append(out.Calls, toJSON(&cs[i], now))
	}
	writeJSON(w, out)
}

// channelAccess returns 0 when user may read channel's calls.
func (s *Service) channelAccess(ctx context.Context, channel, user string) (wire.Code, error) {
	if _, err := s.members.Channel(ctx, channel); err != nil {
		if errors.Is(err, chatNotFound) {
			return wire.CodeChannelNotFound, nil
		}
		return 0, err
	}
	return s.memberCode(ctx, channel, user)
}

type iceServerJSON struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

type iceServersJSON struct {
	ICEServers []iceServerJSON `json:"ice_servers"`
	Expires    string          `json:"expires,omitempty"` // when the TURN credentials expire
}

// iceServers hands out the configured STUN and TURN servers, with TURN
// credentials minted for the caller.
func (s *Service) iceServers(w http.ResponseWriter, r *http.Request, caller string) {
	ice := s.ICE()
	out := iceServersJSON{ICEServers: []iceServerJSON{}}
	if len(ice.STUNURLs) > 0 {
		out.ICEServers = append(out.ICEServers, iceServerJSON{URLs: ice.STUNURLs})
	}
	if len(ice.TURNURLs) > 0 {
		now := time.Now()
		username, credential, err := auth.MintTURN(ice.TURNSecret, caller, ice.TURNTTL, now)
		if err != nil {
			s.writeError(w, wire.CodeInternal, err)
			return
		}
		out.ICEServers = append(out.ICEServers, iceServerJSON{URLs: ice.TURNURLs, Username: username, Credential: credential})
		out.Expires = timeJSON(now.Add(ice.TURNTTL))
	}
	writeJSON(w, out)
}

func (s *Service) writeError(w http.ResponseWriter, code wire.Code, err error) {
	status := map[wire.Code]int{wire.CodeChannelNotFound: http.StatusNotFound, wire.CodeNotMember: http.StatusForbidden,
		wire.CodeBanned: http.StatusForbidden}[code]
	switch {
	case status != 0:
		writeProblem(w, status, code, code.String())
	case errors.Is(err, context.DeadlineExceeded):
		writeProblem(w, http.StatusGatewayTimeout, wire.CodeTimeout, "the store did not answer in time")
	default:
		s.log.Warn("calls request", "err", err)
		writeProblem(w, http.StatusServiceUnavailable, wire.CodeUnavailable, "the store is unavailable")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// ProblemTypeBase prefixes problem type URIs, as in the chat API.
const ProblemTypeBase = "https://salam.dev/problems/"

func writeProblem(w http.ResponseWriter, status int, code wire.Code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": ProblemTypeBase + code.String(), "title": http.StatusText(status),
		"status": status, "detail": detail, "code": code})
}
