package presence_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/internal/openapitest"
	"github.com/salamhq/salam/storage/memory"
	"github.com/salamhq/salam/wire"
)

// apiFixture serves the REST API of a started service; every answer is
// checked against openapi.yaml.
type apiFixture struct {
	t     *testing.T
	svc   *presence.Service
	store presence.Store
	api   http.Handler
	doc   *openapitest.Doc
}

func newAPIFixture(t *testing.T, store presence.Store, aud presence.Audience, cfg presence.Config) *apiFixture {
	t.Helper()
	svc, _ := startService(t, store, aud, cfg)
	api := presence.NewAPI(svc, func(r *http.Request) (string, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return u, nil
		}
		return "", errors.New("no token")
	})
	return &apiFixture{t: t, svc: svc, store: store, api: api, doc: openapitest.Load(t, "openapi.yaml")}
}

// call sends a request as user ("" for none) with a JSON body (when body
// is not "") and returns the status and the decoded body.
func (f *apiFixture) call(user, method, path, body string) (int, any) {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if user != "" {
		req.Header.Set("X-User", user)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	f.doc.CheckResponse(f.t, method, path, rec.Code, rec.Header(), rec.Body.Bytes())
	var out any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// states calls GET /v1/presence?users= as user and wants 200.
func (f *apiFixture) states(user, users string) []map[string]any {
	f.t.Helper()
	code, out := f.call(user, "GET", "/v1/presence?users="+users, "")
	if code != 200 {
		f.t.Fatalf("GET %s as %s: %d %v", users, user, code, out)
	}
	var states []map[string]any
	for _, s := range out.([]any) {
		states = append(states, s.(map[string]any))
	}
	return states
}

func TestAPIPrivacyStatusAndInvisible(t *testing.T) {
	store := memory.NewPresence()
	f := newAPIFixture(t, store, audience{"alice": {"dm:ab"}, "bob": {"dm:ab"}, "carol": {"other"}}, presence.Config{})
	ctx := context.Background()
	store.Beat(ctx, "e1", []string{"alice"}, time.Minute, time.Now())
	if s := f.states("bob", "alice"); s[0]["online"] != true {
		t.Fatalf("bob sees alice as %v", s[0])
	}
	if s := f.states("carol", "alice"); len(s[0]) != 2 || s[0]["online"] != false {
		t.Fatalf("carol shares no channel with alice but sees %v", s[0])
	}
	code, me := f.call("alice", "PUT", "/v1/presence/me", `{"status":"in a meeting","invisible":true}`)
	if m, _ := me.(map[string]any); code != 200 || m["online"] != true || m["invisible"] != true || m["status"] != "in a meeting" {
		t.Fatalf("set status: %d %v", code, me)
	}
	if s := f.states("bob", "alice"); s[0]["online"] != false || s[0]["status"] != "in a meeting" || s[0]["last_seen"] != nil {
		t.Fatalf("invisible alice shown as %v", s[0])
	}
	if s := f.states("alice", "alice"); s[0]["online"] != true || s[0]["invisible"] != true {
		t.Fatalf("alice's own state %v", s[0])
	}
	store.SetStatus(ctx, "alice", "", false)
	store.Leave(ctx, "e1", []string{"alice"}, time.Now())
	s := f.states("bob", "%20alice%20,nobody,,alice")
	if len(s) != 2 || s[0]["user"] != "alice" || s[0]["online"] != false || s[0]["last_seen"] == nil ||
		s[1]["user"] != "nobody" || len(s[1]) != 2 {
		t.Fatalf("alice offline and an unknown user: %v", s)
	}
}

// Every refusal is a problem with its status and wire code.
func TestAPIRefusals(t *testing.T) {
	f := newAPIFixture(t, memory.NewPresence(), audience{}, presence.Config{MaxQueryUsers: 3})
	for _, tt := range []struct {
		user, method, path, body string
		status                   int
		code                     wire.Code
	}{
		{"", "GET", "/v1/presence?users=alice", "", 401, wire.CodePermissionDenied},
		{"bob", "GET", "/v1/presence", "", 400, wire.CodeBadFrame},
		{"bob", "GET", "/v1/presence?users=,,", "", 400, wire.CodeBadFrame},
		{"bob", "GET", "/v1/presence?users=" + strings.Repeat("x", 257), "", 400, wire.CodeBadFrame},
		{"bob", "GET", "/v1/presence?users=a,b,c,d", "", 400, wire.CodeTooManyUsers},
		{"bob", "PUT", "/v1/presence/me", `{"status":`, 400, wire.CodeBadFrame},
		{"bob", "PUT", "/v1/presence/me", `{"mood":"x"}`, 400, wire.CodeBadFrame},
		{"bob", "PUT", "/v1/presence/me", `{"status":"` + strings.Repeat("x", 300) + `"}`, 400, wire.CodeBadFrame},
		{"bob", "PUT", "/v1/presence/me", `{"status":"` + strings.Repeat("x", 5000) + `"}`, 413, wire.CodeTooLarge},
		{"bob", "POST", "/v1/presence", "", 405, wire.CodeBadFrame},
		{"bob", "GET", "/v1/presence/nobody", "", 404, wire.CodeBadFrame},
	} {
		code, out := f.call(tt.user, tt.method, tt.path, tt.body)
		p, _ := out.(map[string]any)
		if code != tt.status || p["code"] != float64(tt.code) || p["status"] != float64(tt.status) ||
			!strings.HasPrefix(fmt.Sprint(p["type"]), presence.ProblemTypeBase) || p["title"] == "" {
			t.Errorf("%s %s %.40q: %d %v, want %d code %d", tt.method, tt.path, tt.body, code, out, tt.status, tt.code)
		}
	}
	req := httptest.NewRequest("PUT", "/v1/presence/me", strings.NewReader(`{}`))
	req.Header.Set("X-User", "bob")
	req.Header.Set("Content-Type", "text/plain")
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	f.doc.CheckResponse(t, "PUT", "/v1/presence/me", rec.Code, rec.Header(), rec.Body.Bytes())
	if rec.Code != 415 {
		t.Errorf("text/plain body: %d, want 415", rec.Code)
	}
}

// A failing store is 503 (code 9), a slow one 504 (code 10).
func TestAPIStoreFailures(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
		code   wire.Code
	}{
		{errors.New("connection refused"), 503, wire.CodeUnavailable},
		{context.DeadlineExceeded, 504, wire.CodeTimeout},
	} {
		f := newAPIFixture(t, failingStore{memory.NewPresence(), tt.err}, audience{}, presence.Config{})
		for _, c := range [][3]string{{"GET", "/v1/presence?users=a", ""}, {"PUT", "/v1/presence/me", `{"status":"x"}`}} {
			if code, out := f.call("bob", c[0], c[1], c[2]); code != tt.status || out.(map[string]any)["code"] != float64(tt.code) {
				t.Errorf("%s %s with %v: %d %v", c[0], c[1], tt.err, code, out)
			}
		}
	}
}

// failingStore fails Get and SetStatus with err.
type failingStore struct {
	presence.Store
	err error
}

func (s failingStore) Get(context.Context, []string) ([]presence.State, error) { return nil, s.err }
func (s failingStore) SetStatus(context.Context, string, string, bool) error   { return s.err }
