package loadgen

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func readReports(t *testing.T, names ...string) []NamedReport {
	t.Helper()
	var out []NamedReport
	for _, name := range names {
		r, err := ReadReport(filepath.Join("testdata", "plan", name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, NamedReport{Name: name, Report: r})
	}
	return out
}

// The plan's text is golden: every input, formula and result, byte for
// byte (go test -run Plan -update rewrites the files after a deliberate
// change).
func TestPlanGolden(t *testing.T) {
	tests := []struct {
		golden  string
		opt     PlanOptions
		reports []string
	}{
		{golden: "500k.golden", opt: PlanOptions{Users: 500_000}, reports: []string{"idle.json", "fanout.json", "chat.json"}},
		{golden: "1m-capped.golden", opt: PlanOptions{Users: 1_000_000, Utilisation: 0.5, NodeMemoryGiB: 24, NodeCores: 2,
			SendsPerUser: 0.05, Recipients: 20, DeliveryBytes: 300, MaxConnsPerNode: 50_000}, reports: []string{"idle.json", "fanout.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var out bytes.Buffer
			if err := Plan(&out, tt.opt, readReports(t, tt.reports...)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "plan", tt.golden)
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("plan differs from %s:\n%s", path, out.String())
			}
			var again bytes.Buffer
			Plan(&again, tt.opt, readReports(t, tt.reports...))
			if again.String() != out.String() {
				t.Error("two plans from the same inputs differ")
			}
		})
	}
}

// The plan takes the worst memory and CPU per connection of the idle
// reports, and charges CPU to messages and deliveries by a fit over the
// message reports when they differ in fan-out.
func TestPlanFigures(t *testing.T) {
	f, err := figures(readReports(t, "idle.json", "fanout.json", "chat.json"))
	if err != nil {
		t.Fatal(err)
	}
	if f.rssPerConn != 3475 || f.baseRSS != 30408704 {
		t.Errorf("rss %v base %v", f.rssPerConn, f.baseRSS)
	}
	if want := 0.31 / (15000 * 10.02); f.cpuPerConn != want {
		t.Errorf("cpu per connection %v, want %v", f.cpuPerConn, want)
	}
	// Two reports, two unknowns: the fit is exact. fanout: 20 a + 200000 b
	// = 4.88; chat: 4000 a + 36000 b = 2.4.
	for _, p := range f.points {
		if got := p.messages*f.cpuPerMsg + p.deliveries*f.cpuPerDelivery; math.Abs(got-p.cpu) > 1e-9 {
			t.Errorf("%s: fit gives %v cpu s, measured %v", p.name, got, p.cpu)
		}
	}
	tests := []struct {
		name      string
		points    []costPoint
		perMsg    float64
		perDel    float64
		fromWorst bool
	}{
		{name: "one report", points: []costPoint{{"a", 10, 100, 2}}, perDel: 0.02, fromWorst: true},
		{name: "same fan-out", points: []costPoint{{"a", 10, 100, 2}, {"b", 20, 200, 3}}, perDel: 0.02, fromWorst: true},
		{name: "negative cost", points: []costPoint{{"a", 10, 100, 2}, {"b", 100, 100, 1}}, perDel: 0.02, fromWorst: true},
		{name: "exact", points: []costPoint{{"dm", 1000, 1000, 2.1}, {"bc", 10, 10000, 1.02}}, perMsg: 0.002, perDel: 0.0001},
	}
	for _, tt := range tests {
		g := planFigures{points: tt.points}
		g.fitCost()
		if math.Abs(g.cpuPerMsg-tt.perMsg) > 1e-12 || math.Abs(g.cpuPerDelivery-tt.perDel) > 1e-12 ||
			strings.Contains(g.costFrom, "worst") != tt.fromWorst {
			t.Errorf("%s: a %v b %v (%s), want a %v b %v", tt.name, g.cpuPerMsg, g.cpuPerDelivery, g.costFrom, tt.perMsg, tt.perDel)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	idle := readReports(t, "idle.json")
	fan := readReports(t, "fanout.json")
	noCPU := *idle[0].Report
	noCPU.TargetCPUSeconds = 0
	tests := []struct {
		name    string
		opt     PlanOptions
		reports []NamedReport
		want    string
	}{
		{name: "no users", opt: PlanOptions{}, reports: append(idle, fan...), want: "users"},
		{name: "utilisation", opt: PlanOptions{Users: 1, Utilisation: 1.5}, reports: append(idle, fan...), want: "utilisation"},
		{name: "no idle report", opt: PlanOptions{Users: 1}, reports: fan, want: "no idle report"},
		{name: "no delivery report", opt: PlanOptions{Users: 1}, reports: idle, want: "no broadcast"},
		{name: "idle without cpu", opt: PlanOptions{Users: 1}, reports: []NamedReport{{Name: "x.json", Report: &noCPU}}, want: "x.json"},
		{name: "reconnect report", opt: PlanOptions{Users: 1}, reports: []NamedReport{{Name: "r.json", Report: &Report{Scenario: ScenarioReconnect}}}, want: "no figure"},
		{name: "node too small", opt: PlanOptions{Users: 1, NodeMemoryGiB: 0.01}, reports: append(idle, fan...), want: "usable memory"},
	}
	for _, tt := range tests {
		err := Plan(new(bytes.Buffer), tt.opt, tt.reports)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %q", tt.name, err, tt.want)
		}
	}
}
