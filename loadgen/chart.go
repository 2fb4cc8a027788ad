package loadgen

import (
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// ChartPath is where the chart of a report written to reportPath goes by
// default: the same name with the extension .html.
func ChartPath(reportPath string) string {
	return strings.TrimSuffix(reportPath, filepath.Ext(reportPath)) + ".html"
}

// WriteChart writes the report's time series as a self-contained HTML page
// (inline SVG, no script, nothing fetched) to path.
func WriteChart(path string, r *Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(RenderChart(f, r), f.Close())
}

// line is one plotted series; NaN marks a sample without a value.
type line struct {
	name  string
	color string
	ys    []float64
}

// RenderChart writes the HTML page of WriteChart to w: a summary, then
// connections, the followed latency (p50 and p99 of each second) and
// message rates over time, then the samples as a table.
func RenderChart(w io.Writer, r *Report) error {
	var b strings.Builder
	title := fmt.Sprintf("salam loadgen %s, %d connections, %s", r.Scenario, r.ConnectionsRequested,
		r.StartedAt.Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 24px}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
svg{display:block;margin:4px 0 24px}text{font:12px sans-serif;fill:#444}
</style></head><body>
<h1>%s</h1>
`, html.EscapeString(title), html.EscapeString(title))
	writeSummary(&b, r)
	ts := make([]float64, len(r.Series))
	conns, p50, p99, ack := make([]float64, len(ts)), make([]float64, len(ts)), make([]float64, len(ts)), make([]float64, len(ts))
	acked, recv, pres := make([]float64, len(ts)), make([]float64, len(ts)), make([]float64, len(ts))
	var anyAck, anyMsg, anyPres bool
	for i, s := range r.Series {
		ts[i], conns[i], p50[i], p99[i], ack[i] = s.T, float64(s.Connections), s.LatencyP50, s.LatencyP99, s.AckP99
		if s.LatencyCount == 0 { // no value that second: a gap, not a zero
			p50[i], p99[i] = math.NaN(), math.NaN()
		}
		if s.AckP99 == 0 {
			ack[i] = math.NaN()
		}
		prev := Sample{}
		if i > 0 {
			prev = r.Series[i-1]
		}
		dt := max(s.T-prev.T, 1e-3)
		acked[i], recv[i] = float64(s.Acked-prev.Acked)/dt, float64(s.Received-prev.Received)/dt
		pres[i] = float64(s.Presence-prev.Presence) / dt
		anyAck = anyAck || s.AckP99 > 0
		anyMsg = anyMsg || s.Acked > 0 || s.Received > 0
		anyPres = anyPres || s.Presence > 0
	}
	writeSVG(&b, "Open connections", ts, []line{{"connections", "#1f77b4", conns}})
	lat := []line{{"p50", "#2ca02c", p50}, {"p99", "#d62728", p99}}
	if anyAck {
		lat = append(lat, line{"ack p99", "#9467bd", ack})
	}
	writeSVG(&b, fmt.Sprintf("%s per second (ms)", strings.TrimSuffix(r.SeriesLatency, "_ms")), ts, lat)
	if anyMsg {
		writeSVG(&b, "Messages per second", ts, []line{{"acked/s", "#ff7f0e", acked}, {"received/s", "#17becf", recv}})
	}
	if anyPres {
		writeSVG(&b, "Presence events per second", ts, []line{{"presence/s", "#8c564b", pres}})
	}
	writeSeriesTable(&b, r.Series)
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSummary(b *strings.Builder, r *Report) {
	rows := [][2]string{
		{"connections opened / requested", fmt.Sprintf("%d / %d", r.ConnectionsOpened, r.ConnectionsRequested)},
		{"connect errors, dropped", fmt.Sprintf("%d, %d", r.ConnectErrors, r.ConnectionsDropped)},
		{"duration s", fmt.Sprintf("%.1f", r.DurationS)},
		{"connect ms p50 / p99 / max", quantileCells(r.ConnectMs)},
	}
	if r.MessagesSent > 0 {
		rows = append(rows, [2]string{"messages sent / acked / received / lost", fmt.Sprintf("%d / %d / %d / %d",
			r.MessagesSent, r.MessagesAcked, r.MessagesReceived, r.MessagesLost)},
			[2]string{"ack ms p50 / p99 / max", quantileCells(r.AckMs)},
			[2]string{"delivery ms p50 / p99 / max", quantileCells(r.DeliveryMs)},
			[2]string{"last receipt ms p50 / p99 / max", quantileCells(r.LastReceiptMs)})
	}
	if p := r.Presence; p != nil {
		rows = append(rows, [2]string{"presence online ms p50 / p99 / max", quantileCells(p.OnlineMs)},
			[2]string{"presence offline ms p50 / p99 / max", quantileCells(p.OfflineMs)},
			[2]string{"presence expected / missed", fmt.Sprintf("%d / %d", p.Expected, p.Missed)})
	}
	if c := r.Reconnect; c != nil {
		rows = append(rows, [2]string{"reconnect dropped / recovered / failed", fmt.Sprintf("%d / %d / %d", c.Dropped, c.Recovered, c.Failed)},
			[2]string{"recovery ms p50 / p99 / max", quantileCells(c.RecoveryMs)})
	}
	b.WriteString("<table>\n")
	for _, row := range rows {
		fmt.Fprintf(b, "<tr><th>%s</th><td>%s</td></tr>\n", html.EscapeString(row[0]), html.EscapeString(row[1]))
	}
	b.WriteString("</table>\n")
}

func quantileCells(q Quantiles) string {
	return fmt.Sprintf("%.1f / %.1f / %.1f", q.P50, q.P99, q.Max)
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH         = 900, 240
	padL, padR, padT, padB = 64, 16, 24, 32
)

// writeSVG plots lines over xs as one inline SVG chart.
func writeSVG(b *strings.Builder, title string, xs []float64, lines []line) {
	xMax, yMax := 1.0, 0.0
	for _, x := range xs {
		xMax = max(xMax, x)
	}
	for _, l := range lines {
		for _, y := range l.ys {
			if !math.IsNaN(y) {
				yMax = max(yMax, y)
			}
		}
	}
	yStep := niceStep(yMax)
	yTop := yStep * math.Max(math.Ceil(yMax/yStep), 1)
	xStep := niceStep(xMax)
	px := func(x float64) float64 { return padL + x/xMax*(chartW-padL-padR) }
	py := func(y float64) float64 { return chartH - padB - y/yTop*(chartH-padT-padB) }

	fmt.Fprintf(b, "<h2>%s</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n",
		html.EscapeString(title), chartW, chartH, chartW, chartH, html.EscapeString(title))
	for y := 0.0; y <= yTop+yStep/2; y += yStep {
		fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			padL, py(y), chartW-padR, py(y), padL-6, py(y)+4, formatTick(y))
	}
	for x := 0.0; x <= xMax+xStep/2; x += xStep {
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%ss</text>\n", px(x), chartH-padB+18, formatTick(x))
	}
	fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", padL, chartH-padB, chartW-padR, chartH-padB)
	for k, l := range lines {
		// One polyline per run of values; a NaN (no value) breaks the line.
		var pts strings.Builder
		flush := func() {
			if pts.Len() > 0 {
				fmt.Fprintf(b, "<polyline class=\"series\" data-name=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>\n",
					html.EscapeString(l.name), l.color, strings.TrimSpace(pts.String()))
				pts.Reset()
			}
		}
		for i, y := range l.ys {
			if math.IsNaN(y) {
				flush()
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(xs[i]), py(y))
		}
		flush()
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" fill=\"%s\" style=\"fill:%s\">%s</text>\n",
			padL+10+k*110, padT-8, l.color, l.color, html.EscapeString(l.name))
	}
	b.WriteString("</svg>\n")
}

// niceStep is a round tick step (1, 2 or 5 × 10^k) giving about five
// ticks up to v.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func formatTick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", math.Round(v*1000)/1000)
}

func writeSeriesTable(b *strings.Builder, samples []Sample) {
	b.WriteString("<h2>Samples</h2>\n<table id=\"series\">\n<tr><th>t s</th><th>connections</th><th>connect errors</th><th>dropped</th>" +
		"<th>sent</th><th>acked</th><th>received</th><th>presence</th><th>latency n</th><th>p50 ms</th><th>p99 ms</th><th>ack p99 ms</th></tr>\n")
	for _, s := range samples {
		fmt.Fprintf(b, "<tr><td>%.1f</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%.2f</td><td>%.2f</td><td>%.2f</td></tr>\n",
			s.T, s.Connections, s.ConnectErrors, s.Dropped, s.Sent, s.Acked, s.Received, s.Presence,
			s.LatencyCount, s.LatencyP50, s.LatencyP99, s.AckP99)
	}
	b.WriteString("</table>\n")
}
