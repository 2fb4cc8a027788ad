package presence

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// MaxQueryUsers bounds one presence query.
const MaxQueryUsers = 100

// NewAPI serves presence over REST, with the same tokens as the WebSocket:
//
//	GET /v1/presence?users=a,b   states of up to MaxQueryUsers users who share a channel with the caller
//	PUT /v1/presence/me          {"status": "…", "invisible": bool}
//
// A user the caller shares no channel with is answered as unknown
// (offline, no last seen), exactly like a user who never connected, so the
// API does not reveal who exists. Invisible users are shown offline.
func NewAPI(svc *Service, authenticate func(*http.Request) (string, error)) http.Handler {
	mux := http.NewServeMux()
	auth := func(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			user, err := authenticate(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="salam"`)
				problem(w, http.StatusUnauthorized, 8, "unauthorized: "+err.Error())
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			h(w, r.WithContext(ctx), user)
		}
	}
	mux.HandleFunc("GET /v1/presence", auth(svc.query))
	mux.HandleFunc("PUT /v1/presence/me", auth(svc.setStatus))
	return mux
}

type stateJSON struct {
	User      string `json:"user"`
	Online    bool   `json:"online"`
	LastSeen  string `json:"last_seen,omitempty"`
	Status    string `json:"status,omitempty"`
	Invisible bool   `json:"invisible,omitempty"` // only in the caller's own state
}

func (s *Service) query(w http.ResponseWriter, r *http.Request, caller string) {
	var users []string
	for _, u := range strings.Split(r.URL.Query().Get("users"), ",") {
		if u = strings.TrimSpace(u); u != "" && !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	switch {
	case len(users) == 0:
		problem(w, http.StatusBadRequest, 2, "users: a comma-separated list of user ids is required")
		return
	case len(users) > MaxQueryUsers:
		problem(w, http.StatusBadRequest, 2, "users: at most 100 per query")
		return
	}
	mine, err := s.audience.ChannelsOf(r.Context(), caller)
	if err != nil {
		problem(w, http.StatusServiceUnavailable, 9, "store unavailable")
		return
	}
	states, err := s.store.Get(r.Context(), users)
	if err != nil {
		problem(w, http.StatusServiceUnavailable, 9, "presence store unavailable")
		return
	}
	out := make([]stateJSON, len(users))
	for i, st := range states {
		out[i] = stateJSON{User: users[i]}
		visible, err := s.mayWatch(r.Context(), caller, mine, users[i])
		if err != nil {
			problem(w, http.StatusServiceUnavailable, 9, "store unavailable")
			return
		}
		if !visible {
			continue
		}
		if users[i] != caller {
			st = Visible(st)
		} else {
			out[i].Invisible = st.Invisible
		}
		out[i].Online, out[i].Status = st.Online, st.Status
		if !st.Online && !st.LastSeen.IsZero() {
			out[i].LastSeen = st.LastSeen.UTC().Format("2006-01-02T15:04:05.000Z07:00")
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// mayWatch: users see themselves and those they share a channel with.
func (s *Service) mayWatch(ctx context.Context, caller string, callerChannels []string, user string) (bool, error) {
	if user == caller {
		return true, nil
	}
	theirs, err := s.audience.ChannelsOf(ctx, user)
	if err != nil {
		return false, err
	}
	for _, ch := range theirs {
		if slices.Contains(callerChannels, ch) {
			return true, nil
		}
	}
	return false, nil
}

func (s *Service) setStatus(w http.ResponseWriter, r *http.Request, caller string) {
	var req struct {
		Status    string `json:"status"`
		Invisible bool   `json:"invisible"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		problem(w, http.StatusBadRequest, 2, "malformed JSON: "+err.Error())
		return
	}
	if err := ValidStatus(req.Status); err != nil {
		problem(w, http.StatusBadRequest, 2, err.Error())
		return
	}
	if err := s.store.SetStatus(r.Context(), caller, req.Status, req.Invisible); errors.Is(err, ErrInvalid) {
		problem(w, http.StatusBadRequest, 2, err.Error())
		return
	} else if err != nil {
		problem(w, http.StatusServiceUnavailable, 9, "presence store unavailable")
		return
	}
	writeJSON(w, http.StatusOK, stateJSON{User: caller, Status: req.Status, Invisible: req.Invisible})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// problem writes an RFC 9457 body with the stable wire error code.
func problem(w http.ResponseWriter, status, code int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status),
		"status": status, "detail": detail, "code": code})
}
