package live

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// The REST routes of live streaming; openapi.yaml documents each, and a
// test keeps the two equal.
type route struct {
	method, path string
	handle       func(s *Service, w http.ResponseWriter, r *http.Request, user string) error
}

var routes = []route{
	{http.MethodPost, "/v1/live/keys", (*Service).createKey},
	{http.MethodGet, "/v1/live/keys", (*Service).listKeys},
	{http.MethodDelete, "/v1/live/keys/{id}", (*Service).revokeKey},
	{http.MethodGet, "/v1/live/streams/{id}", (*Service).streamStatus},
}

// Routes returns the "METHOD /path" patterns, to mount on the /v1 mux.
func Routes() []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}

// ProblemTypeBase prefixes problem type URIs, as in the chat API.
const ProblemTypeBase = "https://salam.dev/problems/"

type problem struct {
	status int
	code   wire.Code
	detail string
}

func (p *problem) Error() string { return p.detail }

// NewAPI serves the routes:
//
//	POST   /v1/live/keys          issue a stream key (the secret is in this answer only)
//	GET    /v1/live/keys          the caller's keys, without secrets
//	DELETE /v1/live/keys/{id}     revoke one of the caller's keys
//	GET    /v1/live/streams/{id}  a stream's room: live or not, viewers, chat channel
//
// authenticate identifies the caller with the WebSocket's check. Every
// error is an RFC 9457 problem with the stable wire error code.
func NewAPI(s *Service, authenticate func(*http.Request) (string, error)) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			user, err := authenticate(r)
			if err != nil || user == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="salam"`)
				writeProblem(w, &problem{http.StatusUnauthorized, wire.CodePermissionDenied, "a valid bearer token is required"})
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
			defer cancel()
			r.Body = http.MaxBytesReader(w, r.Body, 4096)
			if err := rt.handle(s, w, r.WithContext(ctx), user); err != nil {
				s.writeError(w, err)
			}
		})
	}
	return mux
}

type createKeyRequest struct {
	Stream string `json:"stream"`
	Record bool   `json:"record"`
}

type keyJSON struct {
	ID          string `json:"id"`
	Key         string `json:"key,omitempty"` // the secret: in the creation answer only
	Stream      string `json:"stream"`
	Record      bool   `json:"record"`
	CreatedAt   string `json:"created_at"`
	RevokedAt   string `json:"revoked_at,omitempty"`
	PublishURL  string `json:"publish_url,omitempty"` // with the secret: creation answer only
	PlaybackURL string `json:"playback_url"`
}

func (s *Service) keyJSON(k Key) keyJSON {
	return keyJSON{ID: k.ID, Stream: k.Stream, Record: k.Record, CreatedAt: timeJSON(k.CreatedAt),
		RevokedAt: timeJSON(k.RevokedAt), PlaybackURL: s.cfg.PlaybackURL(k.Stream)}
}

// IssueKey creates and stores a key for user (REST and `salam streamkey`).
// stream empty draws a name. It returns the secret and the stored Key.
func (s *Service) IssueKey(ctx context.Context, user, stream string, record bool) (string, Key, error) {
	return IssueKey(ctx, s.keys, s.cfg.MaxKeysPerUser, user, stream, record, s.now())
}

// IssueKey creates and stores a key for user in store, refusing more than
// maxKeys valid keys.
func IssueKey(ctx context.Context, store KeyStore, maxKeys int, user, stream string, record bool, now time.Time) (string, Key, error) {
	if stream != "" && !bus.ValidStream(stream) {
		return "", Key{}, &problem{http.StatusBadRequest, wire.CodeBadFrame, "stream: want 1–64 lowercase letters, digits, - and _"}
	}
	keys, err := store.UserStreamKeys(ctx, user)
	if err != nil {
		return "", Key{}, err
	}
	valid := 0
	for _, k := range keys {
		if k.RevokedAt.IsZero() {
			valid++
		}
	}
	if valid >= maxKeys {
		return "", Key{}, &problem{http.StatusConflict, wire.CodeConflict, "too many valid stream keys: revoke one first"}
	}
	for attempt := 0; ; attempt++ {
		secret, k := NewKey(user, stream, record, now)
		err := store.CreateStreamKey(ctx, k)
		if errors.Is(err, ErrExists) && stream == "" && attempt < 3 {
			continue // a drawn name collided
		}
		if errors.Is(err, ErrExists) {
			return "", Key{}, &problem{http.StatusConflict, wire.CodeConflict, "stream " + stream + " already has a key"}
		}
		return secret, k, err
	}
}

func (s *Service) createKey(w http.ResponseWriter, r *http.Request, user string) error {
	var req createKeyRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	secret, k, err := s.IssueKey(r.Context(), user, req.Stream, req.Record)
	if err != nil {
		return err
	}
	out := s.keyJSON(k)
	out.Key, out.PublishURL = secret, s.cfg.PublishURL(secret)
	w.Header().Set("Location", "/v1/live/keys/"+k.ID)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Service) listKeys(w http.ResponseWriter, r *http.Request, user string) error {
	keys, err := s.keys.UserStreamKeys(r.Context(), user)
	if err != nil {
		return err
	}
	out := struct {
		Keys []keyJSON `json:"keys"`
	}{Keys: []keyJSON{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, s.keyJSON(k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) revokeKey(w http.ResponseWriter, r *http.Request, user string) error {
	if err := s.keys.RevokeStreamKey(r.Context(), user, r.PathValue("id"), s.now()); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type roomJSON struct {
	Stream      string `json:"stream"`
	Live        bool   `json:"live"`
	Viewers     int    `json:"viewers"`
	HLSViewers  int    `json:"hls_viewers"`
	ChatViewers int    `json:"chat_viewers"`
	Channel     string `json:"channel"`
	StartedAt   string `json:"started_at,omitempty"`
	EndedAt     string `json:"ended_at,omitempty"`
	PlaybackURL string `json:"playback_url"`
}

// streamStatus: any signed-in user may see whether a stream is live, its
// viewers and its room's channel (to subscribe to its chat).
func (s *Service) streamStatus(w http.ResponseWriter, r *http.Request, _ string) error {
	id := r.PathValue("id")
	room, ok := s.Room(id)
	if !ok {
		if !bus.ValidStream(id) {
			return ErrNotFound
		}
		room = Room{Stream: id, Channel: RoomChannel(id)}
	}
	writeJSON(w, http.StatusOK, roomJSON{Stream: room.Stream, Live: room.Live, Viewers: room.Viewers,
		HLSViewers: room.HLSViewers, ChatViewers: room.ChatViewers, Channel: room.Channel,
		StartedAt: timeJSON(room.StartedAt), EndedAt: timeJSON(room.EndedAt), PlaybackURL: s.cfg.PlaybackURL(room.Stream)})
	return nil
}

func (s *Service) writeError(w http.ResponseWriter, err error) {
	var p *problem
	switch {
	case errors.As(err, &p):
	case errors.Is(err, ErrNotFound):
		p = &problem{http.StatusNotFound, wire.CodeChannelNotFound, "no such stream key or stream"}
	case errors.Is(err, context.DeadlineExceeded):
		p = &problem{http.StatusGatewayTimeout, wire.CodeTimeout, "the store did not answer in time"}
	default:
		s.log.Warn("live request", "err", err)
		p = &problem{http.StatusServiceUnavailable, wire.CodeUnavailable, "the store is unavailable"}
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p *problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.status)
	json.NewEncoder(w).Encode(map[string]any{"type": ProblemTypeBase + p.code.String(), "title": http.StatusText(p.status),
		"status": p.status, "detail": p.detail, "code": p.code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func decodeBody(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &problem{http.StatusUnsupportedMediaType, wire.CodeBadFrame, "the body must be application/json"}
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &problem{http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "the body is over 4096 bytes"}
	case errors.Is(err, io.EOF):
		return nil // no body: all defaults
	case err != nil:
		return &problem{http.StatusBadRequest, wire.CodeBadFrame, "malformed JSON: " + err.Error()}
	}
	return nil
}

func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
