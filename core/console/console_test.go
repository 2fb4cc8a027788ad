package console

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/internal/observe"
)

// fakeTokens: "admin" is an admin, "user" is not, anything else is invalid.
func fakeTokens(r *http.Request) (auth.Claims, error) {
	switch auth.TokenFromRequest(r.Header.Get("Authorization"), r.URL.RawQuery) {
	case "admin":
		return auth.Claims{UserID: "ops", Admin: true}, nil
	case "user":
		return auth.Claims{UserID: "alice"}, nil
	}
	return auth.Claims{}, auth.ErrMissingToken
}

func newTestConsole(t *testing.T) (*Console, *httptest.Server) {
	t.Helper()
	_, nc := bustest.Start(t)
	c, err := New(Options{NATS: nc, Authenticate: fakeTokens})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return c, srv
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

var apiRoutes = []string{
	"/console/api/whoami", "/console/api/overview", "/console/api/stream", "/console/api/journeys",
	"/console/api/journeys/0123456789abcdef0123456789abcdef", "/console/api/channels/general", "/console/api/users/alice", "/console/api/audit", "/console/api/nope",
	"/console/api/rooms", "/console/api/streams",
}

func TestAPIRefusesNonAdmins(t *testing.T) {
	_, srv := newTestConsole(t)
	for _, route := range apiRoutes {
		for _, tt := range []struct {
			token string
			want  int
		}{{"", http.StatusUnauthorized}, {"garbage", http.StatusUnauthorized}, {"user", http.StatusForbidden}} {
			status, body := get(t, srv.URL+route, tt.token)
			if status != tt.want || body["status"] != float64(tt.want) || body["type"] == nil {
				t.Errorf("%s with %q: %d %v, want %d with a problem body", route, tt.token, status, body, tt.want)
			}
		}
	}
}

func TestActionsRefuseNonAdmins(t *testing.T) {
	_, srv := newTestConsole(t)
	for _, route := range []string{"/console/api/channels", "/console/api/sends"} {
		for token, want := range map[string]int{"": 401, "user": 403} {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+route, strings.NewReader(`{"id":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("POST %s with %q: %d, want %d", route, token, resp.StatusCode, want)
			}
		}
	}
}

func TestAPIValidatesParameters(t *testing.T) {
	_, srv := newTestConsole(t)
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/console/api/journeys?limit=0", http.StatusBadRequest},
		{"/console/api/journeys?limit=501", http.StatusBadRequest},
		{"/console/api/journeys?limit=x", http.StatusBadRequest},
		{"/console/api/journeys?channel=bad%20channel", http.StatusBadRequest},
		{"/console/api/journeys?msg_id=x", http.StatusBadRequest}, // needs channel
		{"/console/api/journeys?channel=general&msg_id=" + strings.Repeat("x", 129), http.StatusBadRequest},
		{"/console/api/journeys?bogus=1", http.StatusBadRequest},
		{"/console/api/journeys?channel=general&msg_id=unknown", http.StatusNotFound},
		{"/console/api/journeys?channel=general&limit=10", http.StatusOK},
		{"/console/api/journeys/XYZ", http.StatusBadRequest},
		{"/console/api/journeys/0123456789abcdef0123456789abcdef", http.StatusNotFound},
		{"/console/api/channels/bad%20id", http.StatusBadRequest},
		{"/console/api/channels/general", http.StatusServiceUnavailable}, // no store in this test
		{"/console/api/overview?x=1", http.StatusBadRequest},
		{"/console/api/users/" + strings.Repeat("u", 200), http.StatusBadRequest},
		{"/console/api/users/alice?x=1", http.StatusBadRequest},
		{"/console/api/users/alice", http.StatusOK},           // no presence store, no edge: empty
		{"/console/api/audit", http.StatusServiceUnavailable}, // no audit log in this test
		{"/console/api/rooms?x=1", http.StatusBadRequest},
		{"/console/api/rooms", http.StatusOK}, // no SFU node: no rooms
		{"/console/api/streams?x=1", http.StatusBadRequest},
		{"/console/api/streams", http.StatusServiceUnavailable}, // no live service in this test
		{"/console/api/stream?x=1", http.StatusBadRequest},
		{"/console/api/nope", http.StatusNotFound},
		{"/console/api/whoami", http.StatusOK},
	} {
		if status, body := get(t, srv.URL+tt.path, "admin"); status != tt.want {
			t.Errorf("GET %s = %d %v, want %d", tt.path, status, body, tt.want)
		}
	}
}

func TestPageIsEmbedded(t *testing.T) {
	_, srv := newTestConsole(t)
	for _, path := range []string{"/console/", "/console/console.js", "/console/console.css"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(b) < 100 {
			t.Errorf("GET %s = %d, %d bytes", path, resp.StatusCode, len(b))
		}
	}
}

// TestOverviewAggregatesNodes runs two reporters, as two nodes would, and
// reads their metrics through the console: they report only while the
// console watches.
func TestOverviewAggregatesNodes(t *testing.T) {
	c, srv := newTestConsole(t)
	nc := c.nc
	for i, conns := range []float64{3, 4} {
		reg := prometheus.NewRegistry()
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "salam_edge_connections"})
		g.Set(conns)
		reg.MustRegister(g)
		r, err := observe.NewReporter(nc, []string{"edge", "sfu"}[i], reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := get(t, srv.URL+"/console/api/overview", "admin")
		if status == http.StatusOK && body["totals"].(map[string]any)["connections"] == float64(7) &&
			len(body["nodes"].([]any)) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("overview never showed both nodes: %d %v", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c.Watching() {
		t.Error("still watching after the request ended")
	}
}

func TestJourneyRingIsBounded(t *testing.T) {
	js := newJourneys(2)
	for i, id := range []string{"a", "b", "c"} {
		s := observe.Span{Trace: strings.Repeat(id, 32), Span: "1", Name: "edge received", Start: int64(i),
			Attrs: map[string]string{"channel": "general", "msg_id": id, "body": "secret"}}
		data, _ := json.Marshal(s)
		m := natsMsg{data}.msg()
		js.onSpan(&m)
	}
	if _, ok := js.get(strings.Repeat("a", 32)); ok {
		t.Error("oldest journey kept past the bound")
	}
	j, ok := js.byMessage("general", "c")
	if !ok || len(j.Spans) != 1 || j.Spans[0].Attrs["body"] != "" {
		t.Errorf("journey c = %+v, %v", j, ok)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{History: time.Second}, "history"},
		{Config{Journeys: -1}, "journeys"},
		{Config{StaleAfter: time.Millisecond}, "stale_after"},
	} {
		tt.cfg.EnsureDefaults()
		err := tt.cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %s", tt.cfg, err, tt.want)
		}
	}
}

// Rates come from the difference of two snapshots, latency quantiles from
// the delivery-lag histogram observed between them.
func TestOverviewDerivesRatesAndLatency(t *testing.T) {
	o := newOverview(Config{History: time.Minute, Journeys: 1, StaleAfter: 10 * time.Second})
	bounds := []float64{0.001, 0.002, 0.004}
	snap := func(at int64, frames float64, lag []uint64) observe.Snapshot {
		return observe.Snapshot{Node: "edge-1", Kind: "edge", Time: at, Start: 0,
			Values: map[string]float64{"salam_edge_connections": 10, "salam_edge_frames_in_total": frames,
				"salam_nats_client_rtt_seconds": 0.0002},
			Histograms: map[string]observe.Histogram{"salam_edge_delivery_lag_seconds": {Bounds: bounds, Counts: lag, Count: lag[2]}}}
	}
	for _, s := range []observe.Snapshot{snap(1000, 100, []uint64{0, 0, 0}), snap(3000, 300, []uint64{50, 100, 100})} {
		data, _ := json.Marshal(s)
		m := natsMsg{data}.msg()
		o.onStats(&m)
	}
	ov := o.tick(time.Now())
	if len(ov.Nodes) != 1 {
		t.Fatalf("nodes %+v", ov.Nodes)
	}
	n := ov.Nodes[0]
	if n.FramesInS != 100 || n.Connections != 10 || n.LatP50 != 1 || n.LatP99 != 1.98 || n.Health["salam_nats_client_rtt_seconds"] != 0.0002 {
		t.Errorf("node view %+v", n)
	}
	if ov.Totals.Connections != 10 || len(ov.Series) != 1 {
		t.Errorf("totals %+v, %d points", ov.Totals, len(ov.Series))
	}
	// A node silent past stale_after leaves.
	if ov := o.tick(time.Now().Add(time.Minute)); len(ov.Nodes) != 0 {
		t.Errorf("stale node kept: %+v", ov.Nodes)
	}
}
