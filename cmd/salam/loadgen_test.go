package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/loadgen"
)

func TestLoadgenVerdict(t *testing.T) {
	tests := []struct {
		name string
		r    loadgen.Report
		fail bool
	}{
		{"clean", loadgen.Report{ConnectionsRequested: 1000}, false},
		{"a lost delivery", loadgen.Report{ConnectionsRequested: 1000, MessagesLost: 1}, true},
		{"errors within the rate", loadgen.Report{ConnectionsRequested: 1000, ConnectErrors: 10}, false},
		{"errors past the rate", loadgen.Report{ConnectionsRequested: 1000, ConnectErrors: 6, ConnectionsDropped: 5}, true},
		{"a missed presence change", loadgen.Report{ConnectionsRequested: 1000, Presence: &loadgen.PresenceStats{Missed: 1}}, true},
		{"connections not back", loadgen.Report{ConnectionsRequested: 1000, Reconnect: &loadgen.ReconnectStats{Failed: 11}}, true},
		{"reconnect attempts retried", loadgen.Report{ConnectionsRequested: 1000, Reconnect: &loadgen.ReconnectStats{Errors: 500}}, false},
		{"publish errors past the rate", loadgen.Report{ConnectionsRequested: 10, MessagesSent: 100, PublishErrors: 2}, true},
		{"publish errors within the rate", loadgen.Report{ConnectionsRequested: 10, MessagesSent: 1000, PublishErrors: 2}, false},
	}
	for _, tt := range tests {
		err := verdict(&tt.r, 0.01)
		if (err != nil) != tt.fail {
			t.Errorf("%s: %v", tt.name, err)
		}
		if err != nil && err.(*exitError).ExitCode() != 1 {
			t.Errorf("%s: exit code %d", tt.name, err.(*exitError).ExitCode())
		}
	}
}

// Every scenario end to end, as users run it: the salam binary (its
// workers subprocesses) against a real salam up, small. Each run must exit
// 0, write the keys other tools read, and a chart next to its report.
func TestLoadgenScenarios(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	upArgs := []string{"up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data}
	redis := os.Getenv("SALAM_TEST_REDIS")
	if redis != "" {
		upArgs = append(upArgs, "--redis", redis)
	}
	up := start(t, upArgs...)
	pid := strconv.Itoa(up.cmd.Process.Pid)
	presenceArgs := []string{"--conns", "60", "--room-size", "6", "--hold", "2s", "--percent", "10", "--down", "1200ms",
		"--drain", "3s", "--settle", "1500ms", "--nats", up.nats}
	if redis != "" {
		presenceArgs = append(presenceArgs, "--redis", redis)
	}
	tests := []struct {
		scenario string
		args     []string
		check    func(t *testing.T, r *loadgen.Report)
	}{
		{"idle", []string{"--conns", "200", "--hold", "500ms", "--settle", "300ms", "--target-pid", pid}, func(t *testing.T, r *loadgen.Report) {
			if r.RSSPerConnBytes <= 0 || r.TargetCPUSeconds < 0 || r.ActiveS < 0.5 {
				t.Errorf("server figures: rss/conn %d, cpu %v s over %v s", r.RSSPerConnBytes, r.TargetCPUSeconds, r.ActiveS)
			}
		}},
		{"broadcast", []string{"--conns", "100", "--messages", "10", "--publish-rate", "20"}, func(t *testing.T, r *loadgen.Report) {
			if r.MessagesAcked != 10 || r.MessagesReceived != 1000 || r.DeliveryMs.Count != 1000 {
				t.Errorf("acked %d, received %d", r.MessagesAcked, r.MessagesReceived)
			}
		}},
		{"dm", []string{"--conns", "40", "--hold", "1s", "--publish-rate", "5"}, func(t *testing.T, r *loadgen.Report) {
			if r.MessagesSent != 200 || r.MessagesAcked != 200 || r.MessagesReceived != 200 || r.AckMs.Count != 200 {
				t.Errorf("sent %d acked %d received %d", r.MessagesSent, r.MessagesAcked, r.MessagesReceived)
			}
		}},
		{"chat", []string{"--conns", "60", "--room-size", "6", "--hold", "1s", "--publish-rate", "5"}, func(t *testing.T, r *loadgen.Report) {
			if r.Rooms != 10 || r.MessagesAcked != 50 || r.DeliveriesExpected != 250 || r.MessagesReceived != 250 || r.LastReceiptMs.Count != 50 {
				t.Errorf("rooms %d acked %d expected %d received %d", r.Rooms, r.MessagesAcked, r.DeliveriesExpected, r.MessagesReceived)
			}
		}},
		{"presence", presenceArgs, func(t *testing.T, r *loadgen.Report) {
			p := r.Presence
			if p == nil || p.Changes == 0 || p.Expected == 0 || p.OnlineMs.Count == 0 || p.OfflineMs.Count == 0 {
				t.Fatalf("presence %+v", p)
			}
			// The edge reports changes within 250 ms; core coalesces within 1 s.
			if p.OnlineMs.Max > 1500 || p.OfflineMs.Max > 1500 {
				t.Errorf("online max %v ms, offline max %v ms", p.OnlineMs.Max, p.OfflineMs.Max)
			}
			if r.NATSPresenceMsgsPerS == nil || *r.NATSPresenceMsgsPerS <= 0 || *r.NATSPresenceEventsPerS <= 0 {
				t.Errorf("nats rates %v %v", r.NATSPresenceMsgsPerS, r.NATSPresenceEventsPerS)
			}
			if (r.RedisCommandsPerS != nil) != (redis != "") {
				t.Errorf("redis rate %v with SALAM_TEST_REDIS=%q", r.RedisCommandsPerS, redis)
			}
		}},
		{"reconnect", []string{"--conns", "200", "--percent", "25"}, func(t *testing.T, r *loadgen.Report) {
			if c := r.Reconnect; c == nil || c.Dropped != 50 || c.Recovered != 50 || c.RecoveryMs.Count != 50 {
				t.Errorf("reconnect %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			report := filepath.Join(dir, tt.scenario+".json")
			args := append([]string{"loadgen", tt.scenario, "--url", "ws://" + up.addr + "/v1/ws", "--workers", "2",
				"--source-addrs", "127.0.0.2-127.0.0.9", "--data", data, "--report", report}, tt.args...)
			out, err := exec.Command(salamBin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("salam %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			checkReportKeys(t, b)
			var r loadgen.Report
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.Scenario != tt.scenario || r.ConnectErrors != 0 || r.ConnectionsDropped != 0 || r.MessagesLost != 0 ||
				r.PublishErrors != 0 || r.ConnectionsOpened != int64(r.ConnectionsRequested) || len(r.Series) == 0 {
				t.Errorf("report: %s", b)
			}
			tt.check(t, &r)
			if page, err := os.ReadFile(loadgen.ChartPath(report)); err != nil || !strings.Contains(string(page), "<svg") {
				t.Errorf("chart: %v", err)
			}
			if !strings.Contains(string(out), "conns ") {
				t.Errorf("no status lines:\n%s", out)
			}
		})
	}
}

// checkReportKeys asserts the keys the issue promises readers of a report.
func checkReportKeys(t *testing.T, b []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "connections_opened", "connect_errors", "messages_sent", "messages_acked",
		"messages_received", "messages_lost", "series"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	for _, k := range []string{"connect_ms", "ack_ms", "delivery_ms", "last_receipt_ms"} {
		q, ok := m[k].(map[string]any)
		for _, f := range []string{"p50", "p90", "p99", "p999", "max"} {
			if _, has := q[f]; !ok || !has {
				t.Errorf("report lacks %s.%s", k, f)
			}
		}
	}
}

func TestLoadgenPlan(t *testing.T) {
	testdata := filepath.Join("..", "..", "loadgen", "testdata", "plan")
	out, err := exec.Command(salamBin, "loadgen", "plan", "--users", "500000",
		"--report", filepath.Join(testdata, "idle.json"), "--report", filepath.Join(testdata, "fanout.json")).Output()
	if err != nil || !strings.Contains(string(out), "edge nodes") || !strings.Contains(string(out), "500000 × 0.01") {
		t.Errorf("plan: %v\n%s", err, out)
	}
	// A plan without an idle report cannot size memory: status 1, and why.
	out, err = exec.Command(salamBin, "loadgen", "plan", "--users", "500000",
		"--report", filepath.Join(testdata, "fanout.json")).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "no idle report") {
		t.Errorf("plan without idle: %v\n%s", err, out)
	}
}

// Remote workers over NATS, as users run them: two `salam loadgen-worker
// --nats` processes and one local worker share a broadcast run; then a
// remote worker killed mid-run fails the run with status 1.
func TestLoadgenRemoteWorkers(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	up := start(t, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data)
	worker := func(name, addrs string) *exec.Cmd {
		cmd := exec.Command(salamBin, "loadgen-worker", "--nats", up.nats, "--name", name, "--source-addrs", addrs)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		return cmd
	}
	a, b := worker("a", "127.0.0.2"), worker("b", "127.0.0.3")
	report := filepath.Join(dir, "r.json")
	args := []string{"loadgen", "broadcast", "--url", "ws://" + up.addr + "/v1/ws", "--conns", "90", "--workers", "1",
		"--remote-workers", "2", "--nats", up.nats, "--source-addrs", "127.0.0.4", "--data", data,
		"--messages", "5", "--publish-rate", "20", "--report", report, "--chart", "none"}
	if out, err := exec.Command(salamBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("salam %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	r, err := loadgen.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if r.Workers != 3 || r.ConnectionsOpened != 90 || r.MessagesReceived != 450 || r.MessagesLost != 0 {
		t.Errorf("workers %d, opened %d, received %d, lost %d", r.Workers, r.ConnectionsOpened, r.MessagesReceived, r.MessagesLost)
	}

	for _, w := range []*exec.Cmd{a, b} { // idle again: the next run must claim c
		_ = w.Process.Kill()
		_ = w.Wait()
	}
	c := worker("c", "127.0.0.5")
	go func() { time.Sleep(3 * time.Second); _ = c.Process.Kill() }()
	args = []string{"loadgen", "idle", "--url", "ws://" + up.addr + "/v1/ws", "--conns", "20", "--hold", "30s",
		"--remote-workers", "1", "--nats", up.nats, "--data", data, "--report", report, "--chart", "none"}
	out, err := exec.Command(salamBin, args...).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "worker 0 (remote c) exited early: no line for") {
		t.Errorf("killed remote worker: %v\n%s", err, out)
	}
}
