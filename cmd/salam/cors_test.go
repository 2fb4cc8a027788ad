package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestRESTCORS(t *testing.T) {
	var served int
	h := restCORS([]string{"https://app.example.com", "https://*.example.org"}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served++
		w.Header().Set("Location", "/v1/channels/x")
	}))
	do := func(method, origin string, header ...string) *http.Response {
		req := httptest.NewRequest(method, "/v1/channels", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Result()
	}
	preflight := func(origin string) *http.Response {
		return do(http.MethodOptions, origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization,content-type")
	}

	for _, origin := range []string{"https://app.example.com", "https://eu.example.org"} {
		resp := preflight(origin)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
			resp.Header.Get("Access-Control-Allow-Methods") != "POST" || resp.Header.Get("Access-Control-Max-Age") != "600" ||
			resp.Header.Get("Access-Control-Allow-Headers") != "authorization,content-type" {
			t.Errorf("preflight from %s: %d %v", origin, resp.StatusCode, resp.Header)
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight from %s allows credentials: tokens never travel in cookies", origin)
		}
	}
	if served != 0 {
		t.Fatalf("a preflight reached the API %d times", served)
	}
	for _, origin := range []string{"https://evil.example.net", "http://app.example.com", "https://example.org"} {
		if got := preflight(origin).Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("preflight from %s allowed as %q", origin, got)
		}
	}
	resp := do(http.MethodGet, "https://app.example.com", "Authorization", "Bearer x")
	if served != 1 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		resp.Header.Get("Access-Control-Expose-Headers") != "Location" {
		t.Errorf("cross-origin GET: served %d, headers %v", served, resp.Header)
	}
	// Non-browser clients send no Origin and see no CORS headers.
	if resp := do(http.MethodGet, ""); served != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET without Origin: served %d, headers %v", served, resp.Header)
	}
}

// The policy holds on the edge's own HTTP path (netpoll, buffered
// responses), for REST that the edge forwards to core.
func TestRESTCORSThroughEdge(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "salam.yaml")
	if err := os.WriteFile(conf, []byte("edge:\n  allowed_origins: [\"https://app.example.com\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	up := start(t, "up", "--config", conf, "--listen", "127.0.0.1:0", "--data", dir)
	for origin, want := range map[string]string{"https://app.example.com": "https://app.example.com", "https://evil.example.net": ""} {
		req, _ := http.NewRequest(http.MethodOptions, "http://"+up.addr+"/v1/channels", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want || (want != "" && resp.StatusCode != http.StatusNoContent) {
			t.Errorf("preflight from %s: %d, allow-origin %q, want %q", origin, resp.StatusCode, got, want)
		}
	}
}
