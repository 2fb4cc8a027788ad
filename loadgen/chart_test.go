package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func chartReport() *Report {
	r := &Report{Scenario: ScenarioChat, ConnectionsRequested: 100, StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		SeriesLatency: "delivery_ms", MessagesSent: 40, MessagesAcked: 40, MessagesReceived: 360}
	for i := range 4 {
		r.Series = append(r.Series, Sample{T: float64(i + 1), Connections: int64(25 * (i + 1)), Sent: int64(10 * i),
			Acked: int64(10 * i), Received: int64(90 * i), LatencyCount: 90, LatencyP50: 1.5 + float64(i), LatencyP99: 7.25, AckP99: 2})
	}
	return r
}

// The chart is one HTML page with inline SVG: a line per series, one
// point per sample, the samples in a table, and nothing to fetch.
func TestRenderChart(t *testing.T) {
	r := chartReport()
	var b bytes.Buffer
	if err := RenderChart(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<!DOCTYPE html>", "salam loadgen chat, 100 connections", "Open connections",
		"delivery per second (ms)", "Messages per second", `data-name="p99"`, `data-name="ack p99"`, `<table id="series">`,
		"<td>7.25</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, never := range []string{"<script", "http://", "https://", "src="} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), never) {
			t.Errorf("page holds %q: it must be self-contained", never)
		}
	}
	// connections, p50, p99, ack p99, acked/s, received/s: 4 points each.
	lines := regexp.MustCompile(`<polyline class="series" data-name="([^"]+)"[^>]* points="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(lines) != 6 {
		t.Fatalf("%d series lines, want 6", len(lines))
	}
	for _, l := range lines {
		if n := len(strings.Fields(l[2])); n != 4 {
			t.Errorf("line %s has %d points, want 4", l[1], n)
		}
	}
	if rows := strings.Count(page, "<tr><td>"); rows != 4 {
		t.Errorf("%d sample rows, want 4", rows)
	}
	// Higher values plot higher: the connections line rises (SVG y falls).
	pts := strings.Fields(lines[0][2])
	var y0, y3 float64
	fmt.Sscanf(pts[0][strings.Index(pts[0], ",")+1:], "%g", &y0)
	fmt.Sscanf(pts[3][strings.Index(pts[3], ",")+1:], "%g", &y3)
	if y3 >= y0 {
		t.Errorf("connections line does not rise: y %v → %v", y0, y3)
	}
}

// A second without latency values is a gap in the latency lines, not a
// drop to zero.
func TestRenderChartGap(t *testing.T) {
	r := chartReport()
	r.Series[2].LatencyCount = 0
	var b bytes.Buffer
	if err := RenderChart(&b, r); err != nil {
		t.Fatal(err)
	}
	p50 := regexp.MustCompile(`data-name="p50"[^>]* points="([^"]*)"`).FindAllStringSubmatch(b.String(), -1)
	if len(p50) != 2 || len(strings.Fields(p50[0][1])) != 2 || len(strings.Fields(p50[1][1])) != 1 {
		t.Errorf("p50 lines %q, want 2 points, a gap, 1 point", p50)
	}
}

func TestWriteChart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.html")
	if err := WriteChart(path, chartReport()); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("chart file: %v", err)
	}
	if got := ChartPath("/tmp/x/fanout.json"); got != "/tmp/x/fanout.html" {
		t.Errorf("ChartPath = %q", got)
	}
	if got := ChartPath("report"); got != "report.html" {
		t.Errorf("ChartPath = %q", got)
	}
}

func TestNiceStep(t *testing.T) {
	for _, c := range []struct{ v, want float64 }{{0, 1}, {1, 0.2}, {7, 2}, {10, 2}, {12, 5}, {99, 20}, {4500, 1000}} {
		if got := niceStep(c.v); got != c.want {
			t.Errorf("niceStep(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}
