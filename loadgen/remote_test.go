package loadgen

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startNATS runs an embedded NATS server on loopback and returns its URL.
func startNATS(t *testing.T) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL()
}

// shortRemoteTimes makes hellos and the silence bound fit a short test.
func shortRemoteTimes(t *testing.T, silence time.Duration) {
	hello0, silence0 := helloEvery, remoteSilence
	helloEvery, remoteSilence = 50*time.Millisecond, silence
	t.Cleanup(func() { helloEvery, remoteSilence = hello0, silence0 })
}

// startRemoteWorker runs RunRemoteWorker until the test ends.
func startRemoteWorker(t *testing.T, url, name string, addrs ...string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := RunRemoteWorker(ctx, url, name, addrs); err != nil {
			t.Errorf("remote worker %s: %v", name, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// One local and two remote workers share a broadcast run; the report holds
// every worker's connections and deliveries, and the remote workers bound
// to their own source addresses.
func TestRunRemoteWorkers(t *testing.T) {
	shortRemoteTimes(t, remoteSilence) // a busy machine may delay a progress line
	url := startNATS(t)
	startRemoteWorker(t, url, "a", "127.0.0.2")
	startRemoteWorker(t, url, "b", "127.0.0.3")
	s := newFakeServer(t)
	rep := runT(t, Options{
		Scenario: ScenarioFanout, URL: s.url(), Conns: 150, Workers: 1, RemoteWorkers: 2, NATS: url,
		RemoteWait: 5 * time.Second, Rate: 5000, SourceAddrs: []string{"127.0.0.4"},
		Secret: strings.Repeat("k", 64), Messages: 4, Interval: 20 * time.Millisecond,
		Drain: 5 * time.Second, InProcess: true,
	})
	if rep.Workers != 3 || rep.ConnectionsOpened != 150 || rep.ConnectErrors != 0 {
		t.Errorf("workers %d, opened %d, errors %d", rep.Workers, rep.ConnectionsOpened, rep.ConnectErrors)
	}
	if rep.MessagesAcked != 4 || rep.MessagesReceived != 600 || rep.MessagesLost != 0 || rep.DeliveryMs.Count != 600 {
		t.Errorf("acked %d, received %d, lost %d, delivery count %d",
			rep.MessagesAcked, rep.MessagesReceived, rep.MessagesLost, rep.DeliveryMs.Count)
	}
	s.mu.Lock()
	remotes := len(s.remote)
	s.mu.Unlock()
	if remotes != 4 { // each worker's address and the publisher's 127.0.0.1
		t.Errorf("server saw %d source addresses, want 4", remotes)
	}
}

func TestRunRemoteWorkerNeverAnnounces(t *testing.T) {
	url := startNATS(t)
	s := newFakeServer(t)
	start := time.Now()
	_, err := Run(context.Background(), Options{
		Scenario: ScenarioIdle, URL: s.url(), Conns: 10, RemoteWorkers: 1, NATS: url,
		RemoteWait: 300 * time.Millisecond, Token: "static", InProcess: true,
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "0 of 1 remote workers") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

// A remote worker that takes its config, writes one line and goes silent
// (its host died) fails the run once remoteSilence passed.
func TestRunRemoteWorkerDies(t *testing.T) {
	shortRemoteTimes(t, time.Second)
	url := startNATS(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe(workerSubjectPrefix+"ghost", func(m *nats.Msg) {
		if m.Reply != "" && strings.Contains(string(m.Data), `"scenario"`) {
			line, _ := json.Marshal(&workerMsg{Type: msgProgress, Worker: 1})
			_ = nc.Publish(m.Reply, line)
		}
	}); err != nil {
		t.Fatal(err)
	}
	stopHello := every(helloEvery, func(time.Time) { _ = nc.Publish(WorkersSubject, []byte(`{"name":"ghost"}`)) })
	defer stopHello()
	s := newFakeServer(t)
	rep, err := Run(context.Background(), Options{
		Scenario: ScenarioIdle, URL: s.url(), Conns: 20, Workers: 1, RemoteWorkers: 1, NATS: url,
		Rate: 5000, SourceAddrs: []string{"127.0.0.2"}, Token: "static", Hold: time.Minute, InProcess: true,
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "worker 1 (remote ghost) exited early: no line for") {
		t.Fatalf("err = %v", err)
	}
	if rep == nil || rep.ConnectionsOpened != 10 {
		t.Errorf("partial report: %+v", rep)
	}
}
