package calls_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/openapitest"
	"github.com/salamhq/salam/wire"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	openapitest.Load(t, "openapi.yaml").CheckRoutes(t, calls.Routes())
}

func TestOpenAPIDocumentsErrors(t *testing.T) {
	openapitest.Load(t, "openapi.yaml").CheckErrors(t)
}

// The REST routes answer as documented: history for members only, pages
// stitched by next, TURN credentials minted for the caller.
func TestAPI(t *testing.T) {
	f := newFixture(t, calls.Config{ICE: calls.ICEConfig{STUNURLs: []string{"stun:127.0.0.1:3478"},
		TURNURLs: []string{"turn:127.0.0.1:3478"}, TURNSecret: "0123456789abcdef", TURNTTL: time.Hour}})
	f.channel("g", "alice", "bob")
	alice, bob := f.client("alice"), f.client("bob")
	var ids []string
	for range 3 {
		id := f.call("g", alice, bob)
		alice.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallEnd, CallID: id})
		ids = append([]string{id}, ids...)
	}
	doc := openapitest.Load(t, "openapi.yaml")
	api := calls.NewAPI(f.svc, func(r *http.Request) (string, error) {
		if u := r.Header.Get("Authorization"); u != "" {
			return strings.TrimPrefix(u, "Bearer "), nil
		}
		return "", errors.New("no token")
	})
	get := func(user, path string, out any) int {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		if user != "" {
			req.Header.Set("Authorization", "Bearer "+user)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		doc.CheckResponse(t, "GET", path, rec.Code, rec.Header(), rec.Body.Bytes())
		if out != nil {
			json.Unmarshal(rec.Body.Bytes(), out)
		}
		return rec.Code
	}
	// History is written off the signaling path, after the end frame's
	// reply: wait until the last call's end is stored.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var page struct {
			Calls []struct {
				EndReason string `json:"end_reason"`
			}
		}
		get("bob", "/v1/channels/g/calls?limit=1", &page)
		if len(page.Calls) == 1 && page.Calls[0].EndReason != "" || time.Now().After(deadline) {
			break
		}
	}
	var got []string
	next := ""
	for {
		var page struct {
			Calls []struct {
				ID        string `json:"id"`
				EndReason string `json:"end_reason"`
			}
			More bool
			Next string
		}
		path := "/v1/channels/g/calls?limit=2"
		if next != "" {
			path += "&before=" + next
		}
		if code := get("bob", path, &page); code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		for _, c := range page.Calls {
			got = append(got, c.ID)
			if c.EndReason != "hangup" {
				t.Errorf("%s ended %q", c.ID, c.EndReason)
			}
		}
		if !page.More {
			break
		}
		next = page.Next
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("history %v, want %v", got, ids)
	}
	for path, want := range map[string]int{
		"/v1/channels/g/calls?limit=0":    400,
		"/v1/channels/g/calls?before=x-y": 400,
		"/v1/channels/none/calls":         404,
		"/v1/channels/bad%20name/calls":   404,
	} {
		if code := get("bob", path, nil); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
	if code := get("zed", "/v1/channels/g/calls", nil); code != 403 {
		t.Errorf("a non-member reads history: %d", code)
	}
	if code := get("", "/v1/channels/g/calls", nil); code != 401 {
		t.Errorf("no token: %d", code)
	}
	var ice struct {
		ICEServers []struct {
			URLs                 []string
			Username, Credential string
		} `json:"ice_servers"`
	}
	if code := get("bob", "/v1/calls/ice-servers", &ice); code != 200 || len(ice.ICEServers) != 2 {
		t.Fatalf("ice servers: %d %+v", code, ice)
	}
	turn := ice.ICEServers[1]
	user, cred, err := auth.CheckTURNUsername("0123456789abcdef", turn.Username, time.Now())
	if err != nil || user != "bob" || cred != turn.Credential {
		t.Errorf("TURN credentials %q/%q: %q %v", turn.Username, turn.Credential, user, err)
	}
}
