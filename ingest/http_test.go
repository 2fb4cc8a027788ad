package ingest

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/salamhq/salam/internal/bus"
)

// TestHTTP: CORS for web players (any origin by default, a list when
// configured), preflight, and problems for streams that are not live.
func TestHTTP(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, origin string
		origins                    []string
		status                     int
		allow                      string
	}{
		{"any origin", "GET", "/live/nobody/index.m3u8", "https://app.example", nil, 404, "*"},
		{"listed origin", "GET", "/live/nobody/index.m3u8", "https://app.example", []string{"https://app.example"}, 404, "https://app.example"},
		{"other origin", "GET", "/live/nobody/index.m3u8", "https://evil.example", []string{"https://app.example"}, 404, ""},
		{"preflight", "OPTIONS", "/live/nobody/index.m3u8", "https://app.example", nil, 204, "*"},
		{"no origin", "GET", "/live/nobody/seg1.ts", "", nil, 404, ""},
		{"method", "POST", "/live/nobody/index.m3u8", "", nil, 405, ""},
		{"ladder of a stream not live", "GET", "/live/nobody/abr/master.m3u8", "", nil, 404, ""},
		{"vod without record_dir", "GET", "/vod/nobody/x/index.m3u8", "", nil, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{Config: Config{AllowedOrigins: tc.origins}, Keys: keyMap{}})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.status || rec.Header().Get("Access-Control-Allow-Origin") != tc.allow {
				t.Errorf("%d, Access-Control-Allow-Origin %q; want %d, %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), tc.status, tc.allow)
			}
			if rec.Code == 404 && rec.Header().Get("Cache-Control") != "no-cache" {
				t.Errorf("a 404 with Cache-Control %q: a CDN would keep it", rec.Header().Get("Cache-Control"))
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for field, c := range map[string]Config{
		"variant":             {Variant: "dash"},
		"on_second_publisher": {OnSecondPublisher: "both"},
		"segment_count":       {SegmentCount: 2},
		"segment_count ":      {Variant: VariantLowLatency, SegmentCount: 5},
		"part_min_duration":   {PartMinDuration: 10},
		"stall_timeout":       {StallTimeout: 10},
		"transcode":           {Transcode: TranscodeConfig{Renditions: []Rendition{{Height: 8, BitrateKbps: 100}}}},
	} {
		c.EnsureDefaults()
		if err := c.Validate(); err == nil || !contains(err.Error(), strings.TrimSpace(field)) {
			t.Errorf("%s: %v", field, err)
		}
	}
	var c Config
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if c.PublishBase() != "rtmp://localhost:1935/live" || c.PlaybackBase() != "http://localhost:8888/live" {
		t.Errorf("bases %s %s", c.PublishBase(), c.PlaybackBase())
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{"alice": true, "a-b_c9": true, "": false, "..": false, "a/b": false,
		"Alice": false, strings.Repeat("a", 65): false} {
		if bus.ValidStream(name) != want {
			t.Errorf("ValidStream(%q) = %v", name, !want)
		}
	}
}
