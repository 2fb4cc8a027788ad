package edge

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

func TestUpgradeRefusals(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.AllowedOrigins = []string{"https://app.example.com", "https://*.salam.dev"}
	})
	good := token(t, "alice")
	ws := map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "salam.v1"}
	with := func(kv ...string) map[string]string {
		h := map[string]string{}
		for k, v := range ws {
			h[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(h, kv[i])
			} else {
				h[kv[i]] = kv[i+1]
			}
		}
		return h
	}
	tests := []struct {
		name   string
		path   string
		header map[string]string
		status int
	}{
		{"no token", "/v1/ws", with(), http.StatusUnauthorized},
		{"garbage token", "/v1/ws", with("Authorization", "Bearer nope"), http.StatusUnauthorized},
		{"token of another secret", "/v1/ws", with("Authorization", "Bearer "+otherToken(t)), http.StatusUnauthorized},
		{"no subprotocol", "/v1/ws", with("Authorization", "Bearer "+good, "Sec-WebSocket-Protocol", ""), http.StatusBadRequest},
		{"unknown subprotocol", "/v1/ws", with("Authorization", "Bearer "+good, "Sec-WebSocket-Protocol", "mqtt"), http.StatusBadRequest},
		{"foreign origin", "/v1/ws", with("Authorization", "Bearer "+good, "Origin", "https://evil.example"), http.StatusForbidden},
		{"not an upgrade", "/v1/ws", map[string]string{"Authorization": "Bearer " + good}, http.StatusUpgradeRequired},
		{"allowed origin", "/v1/ws", with("Authorization", "Bearer "+good, "Origin", "https://app.example.com"), http.StatusSwitchingProtocols},
		{"wildcard origin", "/v1/ws", with("Authorization", "Bearer "+good, "Origin", "https://eu.salam.dev"), http.StatusSwitchingProtocols},
		{"token in query", "/v1/ws?token=" + good, with(), http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := httpGet(t, f.srv.Addr().String(), tt.path, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status >= 400 {
				var p struct {
					Title  string
					Status int
				}
				if resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(body), &p) != nil || p.Status != tt.status {
					t.Fatalf("not a problem body: %q %q", resp.Header.Get("Content-Type"), body)
				}
			}
		})
	}
}

func otherToken(t *testing.T) string {
	tok, _ := mintWith("another-secret-another-secret-another", "alice")
	return tok
}

func TestMaxConns(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxConns = 2 })
	f.client("a", wsclient.Options{})
	f.client("b", wsclient.Options{})
	_, err := wsclient.Dial(ctx(t), f.url, wsclient.Options{Token: token(t, "c")})
	var he *wsclient.HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %v, want 503", err)
	}
}

func TestPlainHTTPOnTheSameListener(t *testing.T) {
	f := newFixture(t, nil)
	resp, body := httpGet(t, f.srv.Addr().String(), "/healthz", nil)
	if resp.StatusCode != 200 || body != "plain /healthz" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// Keep-alive: the same client connection serves a second request.
	resp, body = httpGet(t, f.srv.Addr().String(), "/metrics", nil)
	if resp.StatusCode != 200 || body != "plain /metrics" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestSubprotocols(t *testing.T) {
	f := newFixture(t, nil)
	for _, sp := range []string{wire.SubprotocolMsgpack, wire.SubprotocolJSON} {
		c := f.client("alice", wsclient.Options{Subprotocol: sp})
		if c.Subprotocol() != sp {
			t.Fatalf("negotiated %q, want %q", c.Subprotocol(), sp)
		}
	}
}
