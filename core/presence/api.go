package presence

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/salamhq/salam/wire"
)

// The REST routes of presence, with the WebSocket's tokens. openapi.yaml
// documents every route of the routes table; a test keeps the two equal and
// checks every answer of the API tests against it.

// maxStatusBody bounds the body of PUT /v1/presence/me; larger is 413.
const maxStatusBody = 4096

// route is one operation of the API: a ServeMux pattern and its handler.
type route struct {
	method, path string
	handle       func(s *Service, w http.ResponseWriter, r *http.Request, caller string)
}

// routes is the single table of the API, used by NewAPI and by the test
// that compares it with openapi.yaml.
var routes = []route{
	{http.MethodGet, "/v1/presence", (*Service).getPresence},
	{http.MethodPut, "/v1/presence/me", (*Service).putStatus},
}

// NewAPI serves presence over REST:
//
//	GET /v1/presence?users=a,b   the users' states as the caller may see them (Service.Query)
//	PUT /v1/presence/me          {"status": "…", "invisible": bool}
//
// authenticate identifies the caller with the WebSocket's check; an error
// is answered 401. Every error is an RFC 9457 application/problem+json body
// carrying the stable wire error code in "code", unknown paths and methods
// included.
func NewAPI(svc *Service, authenticate func(*http.Request) (string, error)) http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			user, err := authenticate(r)
			if err != nil || user == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="salam"`)
				writeProblem(w, http.StatusUnauthorized, wire.CodePermissionDenied, "unauthorized", "a valid bearer token is required")
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
			defer cancel()
			rt.handle(svc, w, r.WithContext(ctx), user)
		})
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for path, methods := range allowed { // the same path with another method
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, http.StatusMethodNotAllowed, wire.CodeBadFrame, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
		})
	}
	mux.HandleFunc("/v1/presence/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, wire.CodeBadFrame, "no_route", "no route "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// stateJSON is a State as the API shows it.
type stateJSON struct {
	User      string `json:"user"`
	Online    bool   `json:"online"`
	LastSeen  string `json:"last_seen,omitempty"`
	Status    string `json:"status,omitempty"`
	Invisible bool   `json:"invisible,omitempty"` // only in the caller's own state
}

func toJSON(st State) stateJSON {
	out := stateJSON{User: st.User, Online: st.Online, Status: st.Status, Invisible: st.Invisible}
	if !st.Online && !st.LastSeen.IsZero() {
		out.LastSeen = st.LastSeen.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	return out
}

func (s *Service) getPresence(w http.ResponseWriter, r *http.Request, caller string) {
	var users []string
	for _, u := range strings.Split(r.URL.Query().Get("users"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	states, err := s.Query(r.Context(), caller, users)
	if err != nil {
		s.writeError(w, err)
		return
	}
	out := make([]stateJSON, len(states))
	for i, st := range states {
		out[i] = toJSON(st)
	}
	writeJSON(w, out)
}

func (s *Service) putStatus(w http.ResponseWriter, r *http.Request, caller string) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		writeProblem(w, http.StatusUnsupportedMediaType, wire.CodeBadFrame, "unsupported_media_type", "the body must be application/json")
		return
	}
	var req struct {
		Status    string `json:"status"`
		Invisible bool   `json:"invisible"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxStatusBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeProblem(w, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "too_large", "the body is larger than 4096 bytes")
			return
		}
		writeProblem(w, http.StatusBadRequest, wire.CodeBadFrame, "bad_frame", "malformed JSON: "+err.Error())
		return
	}
	err := ValidStatus(req.Status)
	if err == nil {
		err = s.store.SetStatus(r.Context(), caller, req.Status, req.Invisible)
	}
	var states []State
	if err == nil {
		states, err = s.Query(r.Context(), caller, []string{caller})
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, toJSON(states[0]))
}

// writeError answers err of Query or of the store with its problem.
func (s *Service) writeError(w http.ResponseWriter, err error) {
	code, reason := s.errorCode(err)
	status := map[wire.Code]int{wire.CodeBadFrame: http.StatusBadRequest, wire.CodeTooManyUsers: http.StatusBadRequest,
		wire.CodeTimeout: http.StatusGatewayTimeout}[code]
	if status == 0 {
		status = http.StatusServiceUnavailable
		s.log.Warn("presence request", "err", err)
	}
	writeProblem(w, status, code, code.String(), reason)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// ProblemTypeBase prefixes problem type URIs, as in core/chat's API:
// ProblemTypeBase + "too_many_users".
const ProblemTypeBase = "https://salam.dev/problems/"

// writeProblem writes an RFC 9457 body with the stable wire error code.
// Every problem kind has one status, so its status text is the type's one
// title (RFC 9457 §3.1.3).
func writeProblem(w http.ResponseWriter, status int, code wire.Code, kind, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": ProblemTypeBase + kind, "title": http.StatusText(status),
		"status": status, "detail": detail, "code": code})
}
