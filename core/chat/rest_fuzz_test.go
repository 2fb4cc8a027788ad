package chat_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRESTBodies sends arbitrary bodies to every route that reads one: the
// API must answer each with a documented status, never a server error, and
// every refusal must be a problem.
func FuzzRESTBodies(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"group","name":"x"}`, `{"client_id":"c","body":"salam"}`, `{"client_id":"c","body_b64":"AP8="}`,
		`{"user":"bob","role":"admin"}`, `{"seq":1}`, `{"body":"x","content_type":"text/plain"}`, `{"name":null}`,
		`{"client_id":"c","attachments":[{"url":"u","size":-1}]}`, `{"seq":1e400}`, `{"a":` + strings.Repeat("[", 10000),
		`{"client_id":"\ud800","body":"\u0000"}`, `{}`, `null`, `[]`, `"x"`, ``, "{\"kind\":\"group\",\"name\":\"\xff\"}",
	} {
		for route := range bodyRoutes {
			f.Add(uint8(route), seed)
		}
	}
	fx := newRESTFixture(f)
	fx.group("team", "alice", "bob")
	fx.sendText("team", "bob", "b1", "x")
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		req := httptest.NewRequest(rt[0], rt[1], strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(testUserHeader, "alice")
		rec := httptest.NewRecorder()
		fx.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt[0], rt[1], body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var p problemBody
			if rec.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Code == 0 || p.Detail == "" {
				t.Fatalf("%s %s %q: %d is not a problem: %s", rt[0], rt[1], body, rec.Code, rec.Body)
			}
		}
		checkDocumented(t, rt[0], rt[1], rec.Code, rec.Header(), rec.Body.Bytes())
	})
}

// bodyRoutes are the routes that read a body, with concrete paths.
var bodyRoutes = [][2]string{
	{"POST", "/v1/channels"},
	{"PATCH", "/v1/channels/team"},
	{"POST", "/v1/dms"},
	{"POST", "/v1/channels/team/members"},
	{"POST", "/v1/channels/team/bans"},
	{"POST", "/v1/channels/team/messages"},
	{"PATCH", "/v1/channels/team/messages/1"},
	{"PUT", "/v1/channels/team/read"},
}
