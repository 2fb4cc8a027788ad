package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/salamhq/salam/wire"
)

// The REST API /v1 of chat: what HTTP clients (the web admin panel, backends
// integrating with Salam, apps outside a WebSocket session) use to manage
// channels and members and to read and write messages. Sends go through
// Service.Send, so a REST send is as durable and idempotent as a WebSocket
// publish, and every change that WebSocket clients must see is published on
// the channel's event subject like the service's own events.
//
// openapi.yaml documents every route of the routes table below; a test
// keeps the two equal. Handlers are in rest_channels.go, rest_members.go and
// rest_messages.go.

// MaxRequestBody bounds a request body; a larger one is refused with 413.
const MaxRequestBody = 1 << 20

// route is one operation of the API: a ServeMux pattern and its handler.
type route struct {
	method, path string
	handle       func(a *api, w http.ResponseWriter, r *http.Request, user string) error
}

// routes is the single table of the API, used by NewAPI and by the test
// that compares it with openapi.yaml.
var routes = []route{
	{http.MethodPost, "/v1/channels", (*api).createChannel},
	{http.MethodGet, "/v1/channels", (*api).listChannels},
	{http.MethodGet, "/v1/channels/{id}", (*api).getChannel},
	{http.MethodPatch, "/v1/channels/{id}", (*api).updateChannel},
	{http.MethodDelete, "/v1/channels/{id}", (*api).deleteChannel},
	{http.MethodPost, "/v1/dms", (*api).openDM},

	{http.MethodGet, "/v1/channels/{id}/members", (*api).listMembers},
	{http.MethodPost, "/v1/channels/{id}/members", (*api).putMember},
	{http.MethodDelete, "/v1/channels/{id}/members/{user}", (*api).removeMember},
	{http.MethodPost, "/v1/channels/{id}/bans", (*api).ban},

	{http.MethodPost, "/v1/channels/{id}/messages", (*api).sendMessage},
	{http.MethodGet, "/v1/channels/{id}/messages", (*api).history},
	{http.MethodPatch, "/v1/channels/{id}/messages/{seq}", (*api).editMessage},
	{http.MethodDelete, "/v1/channels/{id}/messages/{seq}", (*api).deleteMessage},
	{http.MethodPut, "/v1/channels/{id}/messages/{seq}/reactions/{emoji}", (*api).react},
	{http.MethodDelete, "/v1/channels/{id}/messages/{seq}/reactions/{emoji}", (*api).unreact},
	{http.MethodPut, "/v1/channels/{id}/messages/{seq}/pin", (*api).pin},
	{http.MethodDelete, "/v1/channels/{id}/messages/{seq}/pin", (*api).unpin},
	{http.MethodGet, "/v1/channels/{id}/messages/{seq}/receipts", (*api).messageReceipts},
	{http.MethodGet, "/v1/channels/{id}/pins", (*api).pins},
	{http.MethodPut, "/v1/channels/{id}/read", (*api).markRead},
	{http.MethodGet, "/v1/unread", (*api).unread},
}

// api serves the routes for one Service.
type api struct {
	svc          *Service
	authenticate func(*http.Request) (string, error)
	mux          *http.ServeMux
}

// NewAPI returns the REST API /v1 of svc. authenticate identifies the
// caller of every request, with the check the WebSocket upgrade uses; an
// error or an empty user is answered 401. Every error is an RFC 9457
// application/problem+json body carrying the stable wire error code in
// "code".
func NewAPI(svc *Service, authenticate func(r *http.Request) (user string, err error)) http.Handler {
	a := &api{svc: svc, authenticate: authenticate, mux: http.NewServeMux()}
	for _, rt := range routes {
		a.mux.Handle(rt.method+" "+rt.path, a.serve(rt))
	}
	return a
}

// ServeHTTP dispatches to the mux, answering unknown paths and methods with
// problems rather than the mux's plain-text replies.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, pattern := a.mux.Handler(r); pattern == "" {
		verdict := &headerRecorder{header: make(http.Header)}
		h.ServeHTTP(verdict, r)
		if verdict.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", verdict.header.Get("Allow"))
			writeProblem(w, problemf(http.StatusMethodNotAllowed, wire.CodeBadFrame, "%s is not allowed on %s", r.Method, r.URL.Path).as("method_not_allowed"))
			return
		}
		if verdict.status == http.StatusNotFound {
			writeProblem(w, problemf(http.StatusNotFound, wire.CodeBadFrame, "no route %s %s", r.Method, r.URL.Path).as("no_route"))
			return
		}
	}
	a.mux.ServeHTTP(w, r)
}

// headerRecorder keeps the status and headers the mux's own 404/405
// handlers write, and drops their plain-text body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) WriteHeader(status int)      { h.status = status }
func (h *headerRecorder) Write(p []byte) (int, error) { return len(p), nil }

// serve wraps a handler with authentication, the body limit, the request
// timeout and error rendering.
func (a *api) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := a.authenticate(r)
		if err != nil || user == "" {
			detail := "a valid bearer token is required"
			if err != nil {
				detail = err.Error()
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="salam"`)
			writeProblem(w, problemf(http.StatusUnauthorized, wire.CodePermissionDenied, "%s", detail).as("unauthorized"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		if err := rt.handle(a, w, r.WithContext(ctx), user); err != nil {
			a.fail(w, r, err)
		}
	})
}

// fail renders err: an *apiError as it is, anything else (a store failure)
// as a temporary problem, logged.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *apiError
	switch {
	case errors.As(err, &p):
	case errors.Is(err, context.DeadlineExceeded):
		p = problemf(http.StatusGatewayTimeout, wire.CodeTimeout, "the store did not answer in time; retry")
	case r.Context().Err() != nil: // the client went away; nobody reads this
		p = problemf(http.StatusServiceUnavailable, wire.CodeUnavailable, "request canceled")
	default:
		a.svc.log.LogAttrs(r.Context(), slog.LevelWarn, "rest request", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("err", err))
		p = problemf(http.StatusServiceUnavailable, wire.CodeUnavailable, "store unavailable; retry")
	}
	writeProblem(w, p)
}

// apiError is a refusal with its HTTP status and wire code, rendered as an
// RFC 9457 problem.
type apiError struct {
	status int
	code   wire.Code
	kind   string // last segment of the problem type; the code's name unless set with as
	detail string
}

func (e *apiError) Error() string { return "chat: " + e.kindName() + ": " + e.detail }

func (e *apiError) kindName() string {
	if e.kind != "" {
		return e.kind
	}
	return e.code.String()
}

// as sets the problem type where one code covers several problems (401,
// unknown route), so that each type keeps a single title.
func (e *apiError) as(kind string) *apiError { e.kind = kind; return e }

func problemf(status int, code wire.Code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, detail: fmt.Sprintf(format, args...)}
}

// ProblemTypeBase prefixes the problem type URIs, one per problem kind:
// ProblemTypeBase + "channel_not_found".
const ProblemTypeBase = "https://salam.dev/problems/"

// problemTitles are the titles of the problem types; a type's title never
// varies between occurrences (RFC 9457 §3.1.3).
var problemTitles = map[string]string{
	"unauthorized":           "Authentication required",
	"no_route":               "No such route",
	"method_not_allowed":     "Method not allowed",
	"unsupported_media_type": "Unsupported media type",
	"internal":               "Internal error",
	"bad_frame":              "Invalid request",
	"too_large":              "Too large",
	"permission_denied":      "Permission denied",
	"unavailable":            "Service unavailable",
	"timeout":                "Timeout",
	"bad_channel":            "Invalid channel id",
	"channel_not_found":      "Channel not found",
	"not_member":             "Not a member",
	"conflict":               "Conflict",
	"channel_full":           "Channel full",
	"message_not_found":      "Message not found",
	"message_deleted":        "Message deleted",
	"banned":                 "Banned",
}

// problem is the RFC 9457 body of every error response.
type problem struct {
	Type   string    `json:"type"`
	Title  string    `json:"title"`
	Status int       `json:"status"`
	Detail string    `json:"detail"`
	Code   wire.Code `json:"code"`
}

func writeProblem(w http.ResponseWriter, e *apiError) {
	kind := e.kindName()
	title, ok := problemTitles[kind]
	if !ok {
		title = http.StatusText(e.status)
	}
	body, _ := json.Marshal(problem{Type: ProblemTypeBase + kind, Title: title, Status: e.status, Detail: e.detail, Code: e.code})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	w.Write(append(body, '\n'))
}

// writeJSON writes a success response.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("chat: encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
	return nil
}

// decodeBody reads the JSON object of a request into dst: unknown fields,
// trailing data, a body over MaxRequestBody and a content type other than
// JSON are refused with a detail naming the problem.
func decodeBody(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return problemf(http.StatusUnsupportedMediaType, wire.CodeBadFrame, "content type %q: the body must be application/json", ct).as("unsupported_media_type")
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return bodyError(err)
		}
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "malformed JSON: data after the object")
	}
	return nil
}

// bodyError explains why a body did not decode.
func bodyError(err error) error {
	var (
		tooBig    *http.MaxBytesError
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return problemf(http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "request body larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "empty body: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "malformed JSON: unexpected end of the body")
	case errors.As(err, &syntax):
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "malformed JSON at byte %d: %s", syntax.Offset,
			strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typeError):
		if typeError.Field == "" {
			return problemf(http.StatusBadRequest, wire.CodeBadFrame, "the body must be a JSON object, not %s", typeError.Value)
		}
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "field %q must be %s, not %s", typeError.Field, jsonType(typeError.Type.Kind().String()), typeError.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for DisallowUnknownFields.
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return problemf(http.StatusBadRequest, wire.CodeBadFrame, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonType names a Go kind the way the API documentation does.
func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case kind == "slice", kind == "array":
		return "an array"
	}
	return "an object"
}

// channelParam returns the {id} of the path. An id that no channel can have
// is reported as an unknown channel.
func channelParam(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !wire.ValidChannel(id) {
		return "", errChannelNotFound(id)
	}
	return id, nil
}

// seqParam returns the {seq} of the path.
func seqParam(r *http.Request) (uint64, error) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		return 0, problemf(http.StatusBadRequest, wire.CodeBadFrame, "message sequence %q: want a positive integer", r.PathValue("seq"))
	}
	return seq, nil
}

// queryUint parses an optional positive integer query parameter; 0 when absent.
func queryUint(r *http.Request, name string) (uint64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, problemf(http.StatusBadRequest, wire.CodeBadFrame, "query parameter %s=%q: want a positive integer", name, s)
	}
	return n, nil
}

// queryLimit parses the limit query parameter: 1–max, def when absent.
func queryLimit(r *http.Request, def, max int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, problemf(http.StatusBadRequest, wire.CodeBadFrame, "query parameter limit=%q: want an integer from 1 to %d", s, max)
	}
	return n, nil
}

// maxUserLen bounds a user id taken from a request body or path.
const maxUserLen = 256

// checkUser validates a user id named by a client (not the caller's own,
// which authenticate vouches for).
func checkUser(field, user string) error {
	if user == "" || len(user) > maxUserLen || !utf8.ValidString(user) || strings.IndexFunc(user, unicode.IsControl) >= 0 {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "%s: want a user id of 1–%d bytes of UTF-8 without control characters", field, maxUserLen)
	}
	return nil
}

// checkText validates a UTF-8 text field against a byte limit.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "%s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return problemf(http.StatusBadRequest, wire.CodeBadFrame, "%s is not valid UTF-8", field)
	}
	return nil
}

// Refusals shared by the handlers.

func errChannelNotFound(id string) *apiError {
	return problemf(http.StatusNotFound, wire.CodeChannelNotFound, "no channel %q", id)
}

func errMessageNotFound(channel string, seq uint64) *apiError {
	return problemf(http.StatusNotFound, wire.CodeMessageNotFound, "no message %d in channel %q", seq, channel)
}

func errMessageDeleted(channel string, seq uint64) *apiError {
	return problemf(http.StatusGone, wire.CodeMessageDeleted, "message %d of channel %q is deleted", seq, channel)
}

// accessError turns a code of access.canPublish or canRead into a refusal.
func accessError(code wire.Code, channel string) error {
	switch code {
	case 0:
		return nil
	case wire.CodeChannelNotFound:
		return errChannelNotFound(channel)
	case wire.CodeBanned:
		return problemf(http.StatusForbidden, wire.CodeBanned, "you are banned from channel %q", channel)
	case wire.CodeNotMember:
		return problemf(http.StatusForbidden, wire.CodeNotMember, "you are not a member of channel %q", channel)
	}
	return problemf(http.StatusForbidden, code, "%s", code)
}

// messageStoreError maps a store error of an operation on one message.
func messageStoreError(err error, channel string, seq uint64) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return errMessageNotFound(channel, seq)
	case errors.Is(err, ErrDeleted):
		return errMessageDeleted(channel, seq)
	}
	return err
}

// apiTime is a time in JSON: RFC 3339 in UTC with milliseconds.
type apiTime time.Time

const apiTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func (t apiTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(apiTimeLayout) + `"`), nil
}

// optTime returns nil for the zero time, so that omitempty leaves it out.
func optTime(t time.Time) *apiTime {
	if t.IsZero() {
		return nil
	}
	at := apiTime(t)
	return &at
}
