package bus

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A request made on an edge is served by core's handler over NATS, with its
// method, path, headers and body, and the response comes back whole.
func TestHTTPForwarding(t *testing.T) {
	srv := startEmbedded(t, EmbeddedConfig{})
	core := connect(t, Config{Name: "core"}, srv)
	edge := connect(t, Config{Name: "edge"}, srv)
	_, err := ServeHTTP(core, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+string(body))
	}))
	if err != nil {
		t.Fatal(err)
	}
	core.Flush()
	front := httptest.NewServer(&HTTPForwarder{NC: edge})
	defer front.Close()
	req, _ := http.NewRequest("POST", front.URL+"/v1/channels?x=1", strings.NewReader(`{"id":"a"}`))
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("Content-Type") != "application/problem+json" ||
		string(body) != `POST /v1/channels?x=1 Bearer t {"id":"a"}` {
		t.Fatalf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestHTTPForwardingWithoutCore(t *testing.T) {
	srv := startEmbedded(t, EmbeddedConfig{})
	front := httptest.NewServer(&HTTPForwarder{NC: connect(t, Config{}, srv)})
	defer front.Close()
	resp, err := http.Get(front.URL + "/v1/unread")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
}
