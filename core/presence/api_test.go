package presence_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/storage/memory"
)

func TestAPIPrivacyStatusAndInvisible(t *testing.T) {
	_, nc := bustest.Start(t)
	store := memory.NewPresence()
	svc, err := presence.NewService(nc, store, audience{"alice": {"dm:ab"}, "bob": {"dm:ab"}, "carol": {"other"}},
		presence.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	api := presence.NewAPI(svc, func(r *http.Request) (string, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return u, nil
		}
		return "", errors.New("no token")
	})
	call := func(user, method, path, body string) (int, []map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if user != "" {
			req.Header.Set("X-User", user)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		var out []map[string]any
		json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	r := bus.PresenceReport{Edge: "e1", TTL: 30000, Joined: []string{"alice"}}
	nc.Publish(bus.PresenceSubject, r.AppendMsgpack(nil))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, out := call("bob", "GET", "/v1/presence?users=alice", ""); len(out) == 1 && out[0]["online"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob never saw alice online")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, out := call("carol", "GET", "/v1/presence?users=alice", ""); out[0]["online"] != false {
		t.Fatalf("carol shares no channel with alice but sees %v", out[0])
	}
	if code, _ := call("alice", "PUT", "/v1/presence/me", `{"status":"in a meeting","invisible":true}`); code != 200 {
		t.Fatalf("set status: %d", code)
	}
	if _, out := call("bob", "GET", "/v1/presence?users=alice", ""); out[0]["online"] != false || out[0]["status"] != "in a meeting" {
		t.Fatalf("invisible alice shown as %v", out[0])
	}
	if _, out := call("alice", "GET", "/v1/presence?users=alice", ""); out[0]["online"] != true || out[0]["invisible"] != true {
		t.Fatalf("alice's own state %v", out[0])
	}
	for _, tt := range []struct {
		user, method, path, body string
		want                     int
	}{
		{"", "GET", "/v1/presence?users=alice", "", 401},
		{"bob", "GET", "/v1/presence", "", 400},
		{"bob", "GET", "/v1/presence?users=" + manyUsers(101), "", 400},
		{"bob", "PUT", "/v1/presence/me", `{"status":`, 400},
		{"bob", "PUT", "/v1/presence/me", `{"mood":"x"}`, 400},
		{"bob", "PUT", "/v1/presence/me", `{"status":"` + strings.Repeat("x", 300) + `"}`, 400},
	} {
		if code, _ := call(tt.user, tt.method, tt.path, tt.body); code != tt.want {
			t.Errorf("%s %s %q: %d, want %d", tt.method, tt.path, tt.body, code, tt.want)
		}
	}
}

func manyUsers(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "u%d,", i)
	}
	return b.String()
}
