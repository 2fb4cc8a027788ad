package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat/chatbench"
	"github.com/salamhq/salam/internal/bus"
)

// BenchmarkSendTwoCoreProcesses is issue 3's production shape: two
// `salam core` processes on one Postgres behind one NATS server, driven with
// acknowledged sends over NATS (256 in flight, 16 channels). Needs
// SALAM_TEST_POSTGRES (eval "$(.ci/services)").
func BenchmarkSendTwoCoreProcesses(b *testing.B) { benchSendTwoCore(b, false) }

// BenchmarkSendTwoCoreProcessesConsoleWatching is the same with the console
// open on one core (its SSE stream read throughout): both cores and the
// driver report their metrics every second and the console aggregates
// them. Compare with BenchmarkSendTwoCoreProcesses: nobody watching costs
// nothing, watching costs what this shows.
func BenchmarkSendTwoCoreProcessesConsoleWatching(b *testing.B) { benchSendTwoCore(b, true) }

func benchSendTwoCore(b *testing.B, watch bool) {
	url := os.Getenv("SALAM_TEST_POSTGRES")
	if url == "" {
		b.Skip("SALAM_TEST_POSTGRES not set")
	}
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Shutdown()
	data := b.TempDir()
	var cores []*proc
	for i := 0; i < 2; i++ {
		cores = append(cores, start(b, "core", "--nats", ns.ClientURL(), "--postgres", url, "--listen", "127.0.0.1:0", "--data", data))
	}
	user := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	tok := devToken(b, data, user)
	var channels []string
	for i := 0; i < 16; i++ {
		id := fmt.Sprintf("%s-%d", user, i)
		if code := rest(b, cores[i%2].addr, tok, "POST", "/v1/channels", map[string]any{"id": id, "name": "bench", "kind": "group"}, nil); code != 201 {
			b.Fatalf("create channel: %d", code)
		}
		channels = append(channels, id)
	}
	nc, err := bus.Connect(bus.Config{}, ns, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if watch {
		watchConsole(b, cores[0].addr, adminToken(b, data, "ops"))
	}
	pids := []int{os.Getpid(), cores[0].cmd.Process.Pid, cores[1].cmd.Process.Pid}
	before := cpuSeconds(b, pids)
	chatbench.Drive(b, nc, user, channels)
	after := cpuSeconds(b, pids)
	// CPU per message, by party, is what survives a noisy shared machine:
	// it does not count the other processes' time.
	for i, name := range []string{"driver+nats", "cores", "postgres"} {
		b.ReportMetric((after[i]-before[i])*1e6/float64(b.N), name+"-cpu-µs/msg")
	}
}

// watchConsole opens the console's overview stream and reads it until the
// benchmark ends; it fails unless the first overview arrives.
func watchConsole(b *testing.B, addr, token string) {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/console/api/stream?token="+token, nil)
	req.Header.Set("Accept", "text/event-stream")
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("console stream: %v %v", resp, err)
	}
	first := make(chan struct{})
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: overview") {
				once.Do(func() { close(first) })
			}
		}
	}()
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		b.Fatal("no overview from the console")
	}
}

// cpuSeconds returns the CPU time used so far by pids[0], by pids[1:]
// together, and by every process named postgres (the server's backends).
func cpuSeconds(tb testing.TB, pids []int) [3]float64 {
	var out [3]float64
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		stat := string(raw)
		open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		pid, _ := strconv.Atoi(strings.TrimSpace(stat[:open]))
		slot := 2
		switch i := slices.Index(pids, pid); {
		case i == 0:
			slot = 0
		case i > 0:
			slot = 1
		case stat[open+1:end] != "postgres":
			continue
		}
		f := strings.Fields(stat[end+1:]) // f[11], f[12]: utime, stime in USER_HZ (100)
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		out[slot] += (utime + stime) / 100
	}
	return out
}
