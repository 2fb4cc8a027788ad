package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/wire"
)

//go:embed assets
var assets embed.FS

// Path is where the console is mounted.
const Path = "/console"

// Handler serves the page at /console/ and the API at /console/api/. Every
// API route answers 401 without a valid token and 403 without the admin
// role, before looking at anything else.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix("/console/", http.FileServerFS(static))
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeProblem(w, http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
			return
		}
		// media-src: the streams view previews HLS from the ingest server's origin.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' http: https:")
		files.ServeHTTP(w, r)
	})
	mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	api := http.NewServeMux()
	api.HandleFunc("GET /console/api/whoami", c.whoami)
	api.HandleFunc("GET /console/api/overview", c.overview)
	api.HandleFunc("GET /console/api/stream", c.stream)
	api.HandleFunc("GET /console/api/journeys", c.listJourneys)
	api.HandleFunc("GET /console/api/journeys/{trace}", c.getJourney)
	api.HandleFunc("GET /console/api/channels/{id}", c.channel)
	api.HandleFunc("GET /console/api/audit", c.auditLog)
	api.HandleFunc("GET /console/api/users/{id}", c.user)
	api.HandleFunc("GET /console/api/rooms", c.rooms)
	api.HandleFunc("GET /console/api/streams", c.streams)
	api.HandleFunc("POST /console/api/channels", c.createChannel)
	api.HandleFunc("POST /console/api/sends", c.announceSend)
	api.HandleFunc("/console/api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "no route %s %s", r.Method, r.URL.Path)
	})
	mux.Handle("/console/api/", c.admin(api))
	return mux
}

// admin lets only admin tokens through.
func (c *Console) admin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := c.authn(r)
		if err != nil {
			writeProblem(w, http.StatusUnauthorized, "a valid token is required (Authorization: Bearer, or ?token= for the stream)")
			return
		}
		if !claims.Admin {
			writeProblem(w, http.StatusForbidden, "the console needs a token with the admin role claim")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, claims.UserID)))
	})
}

type adminKey struct{}

// actor is the admin user of an authenticated API request.
func actor(r *http.Request) string {
	s, _ := r.Context().Value(adminKey{}).(string)
	return s
}

// audited records an action or view; when that fails the request fails.
func (c *Console) audited(w http.ResponseWriter, r *http.Request, action, target string) bool {
	if err := c.audit.record(r.Context(), actor(r), action, target, ""); err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "the audit log is unavailable: %v", err)
		return false
	}
	return true
}

func (c *Console) whoami(w http.ResponseWriter, r *http.Request) {
	if !c.audited(w, r, "console.open", "") {
		return
	}
	writeJSON(w, map[string]any{"user": r.Context().Value(adminKey{}), "admin": true})
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	if !noParams(w, r) {
		return
	}
	ch, stop := c.watch() // a one-shot read also wakes the nodes up
	defer stop()
	select {
	case ov := <-ch:
		writeJSON(w, ov)
	case <-r.Context().Done():
	case <-time.After(3 * time.Second):
		writeProblem(w, http.StatusServiceUnavailable, "no overview within 3s")
	}
}

// stream sends the overview every second as Server-Sent Events until the
// client goes away. The first event carries the charts' history; later
// ones only the newest point.
func (c *Console) stream(w http.ResponseWriter, r *http.Request) {
	for k := range r.URL.Query() {
		if k != "token" {
			writeProblem(w, http.StatusBadRequest, "unknown parameter %q", k)
			return
		}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeProblem(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	ch, stop := c.watch()
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	flusher.Flush()
	first := true
	for {
		select {
		case ov := <-ch:
			if !first {
				ov.Series = nil
			}
			first = false
			data, _ := json.Marshal(ov)
			if _, err := fmt.Fprintf(w, "event: overview\ndata: %s\n\n", data); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

var (
	traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	maxMsgID       = 128
)

func (c *Console) listJourneys(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "channel", "msg_id", "limit", "token":
		default:
			writeProblem(w, http.StatusBadRequest, "unknown parameter %q", k)
			return
		}
	}
	channel, msgID := q.Get("channel"), q.Get("msg_id")
	if channel != "" && !wire.ValidChannel(channel) {
		writeProblem(w, http.StatusBadRequest, "channel: not a valid channel id")
		return
	}
	if len(msgID) > maxMsgID {
		writeProblem(w, http.StatusBadRequest, "msg_id: longer than %d bytes", maxMsgID)
		return
	}
	limit, ok := queryLimit(w, q)
	if !ok {
		return
	}
	if msgID != "" {
		if channel == "" {
			writeProblem(w, http.StatusBadRequest, "msg_id needs channel")
			return
		}
		j, ok := c.journeys.byMessage(channel, msgID)
		if !ok {
			writeProblem(w, http.StatusNotFound, "no journey for that message (yet)")
			return
		}
		if !c.audited(w, r, "view.journey", j.ID) {
			return
		}
		writeJSON(w, j)
		return
	}
	writeJSON(w, map[string]any{"journeys": c.journeys.list(channel, limit)})
}

func (c *Console) getJourney(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("trace")
	if !traceIDPattern.MatchString(id) {
		writeProblem(w, http.StatusBadRequest, "trace: 32 lowercase hex digits")
		return
	}
	if !noParams(w, r) {
		return
	}
	j, ok := c.journeys.get(id)
	if ok && !c.audited(w, r, "view.journey", id) {
		return
	}
	if !ok {
		writeProblem(w, http.StatusNotFound, "no such journey (the ring keeps the last %d)", c.cfg.Journeys)
		return
	}
	writeJSON(w, j)
}

// channel shows a channel: its settings, last sequence, and the first
// members with their cursors.
func (c *Console) channel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !wire.ValidChannel(id) {
		writeProblem(w, http.StatusBadRequest, "id: not a valid channel id")
		return
	}
	if !noParams(w, r) {
		return
	}
	if c.chat == nil {
		writeProblem(w, http.StatusServiceUnavailable, "no chat store in this process")
		return
	}
	if !c.audited(w, r, "view.channel", id) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	ch, err := c.chat.Channel(ctx, id)
	if errors.Is(err, chat.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, "no channel %q", id)
		return
	} else if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "store: %v", err)
		return
	}
	members, err := c.chat.Members(ctx, id, "", 100)
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "store: %v", err)
		return
	}
	subs, err := askEdges[observe.ChannelSubscribers](ctx, c, observe.InspectChannelSubject, id)
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "bus: %v", err)
		return
	}
	if subs == nil {
		subs = []observe.ChannelSubscribers{}
	}
	view := channelView{ID: ch.ID, Kind: string(ch.Kind), Name: ch.Name, Public: ch.Public, MemberCap: ch.MemberCap,
		CreatedBy: ch.CreatedBy, CreatedAt: ch.CreatedAt, LastSeq: ch.LastSeq, Members: []memberView{}, SubscribersByEdge: subs}
	for _, m := range members {
		view.Members = append(view.Members, memberView{User: m.User, Role: string(m.Role), JoinedAt: m.JoinedAt,
			ReadSeq: m.ReadSeq, DeliveredSeq: m.DeliveredSeq})
	}
	if c.calls != nil {
		recent, err := c.calls.ChannelCalls(ctx, calls.Page{Channel: id, Limit: 10})
		if err != nil {
			writeProblem(w, http.StatusServiceUnavailable, "calls store: %v", err)
			return
		}
		view.Calls = []callView{}
		for _, cl := range recent {
			cv := callView{ID: cl.ID, Caller: cl.Caller, Node: cl.Node, SFU: cl.SFU, CreatedAt: cl.CreatedAt,
				EndReason: string(cl.EndReason), Participants: []string{}}
			if !cl.AnsweredAt.IsZero() {
				cv.AnsweredAt = &cl.AnsweredAt
			}
			if !cl.EndedAt.IsZero() {
				cv.EndedAt = &cl.EndedAt
			}
			for _, p := range cl.Participants {
				cv.Participants = append(cv.Participants, p.User)
			}
			view.Calls = append(view.Calls, cv)
		}
	}
	writeJSON(w, view)
}

// noParams refuses any query parameter but the token.
func noParams(w http.ResponseWriter, r *http.Request) bool {
	for k := range r.URL.Query() {
		if k != "token" {
			writeProblem(w, http.StatusBadRequest, "unknown parameter %q", k)
			return false
		}
	}
	return true
}

// auditLog pages the audit log, newest first, and says whether the page's
// hash chain holds.
func (c *Console) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "before" && k != "limit" && k != "token" {
			writeProblem(w, http.StatusBadRequest, "unknown parameter %q", k)
			return
		}
	}
	var before uint64
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			writeProblem(w, http.StatusBadRequest, "before: a positive sequence number")
			return
		}
		before = n
	}
	limit, ok := queryLimit(w, q)
	if !ok {
		return
	}
	if c.audit.log == nil {
		writeProblem(w, http.StatusServiceUnavailable, "no audit log in this process")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	recs, err := c.audit.log.AuditRecords(ctx, before, limit)
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "audit log: %v", err)
		return
	}
	chain := "ok"
	if err := VerifyAuditChain(recs); err != nil {
		chain = err.Error()
	}
	if recs == nil {
		recs = []AuditRecord{}
	}
	writeJSON(w, map[string]any{"records": recs, "chain": chain})
}

// queryLimit reads the optional "limit" parameter (1..500, default 50); on
// a bad value it answers 400 and reports false.
func queryLimit(w http.ResponseWriter, q url.Values) (int, bool) {
	s := q.Get("limit")
	if s == "" {
		return 50, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 500 {
		writeProblem(w, http.StatusBadRequest, "limit: an integer in 1..500")
		return 0, false
	}
	return n, true
}
