package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/wire"
)

func runT(t *testing.T, opt Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Run(ctx, opt, &progress)
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("report: %s", b)
	if !strings.Contains(progress.String(), "conns ") {
		t.Errorf("no progress lines")
	}
	return rep
}

func TestRunFanout(t *testing.T) {
	for _, proto := range []string{wire.SubprotocolMsgpack, wire.SubprotocolJSON} {
		t.Run(proto, func(t *testing.T) {
			s := newFakeServer(t)
			report := t.TempDir() + "/report.json"
			rep := runT(t, Options{
				Scenario: ScenarioFanout, URL: s.url(), Conns: 300, Workers: 3, Rate: 5000,
				SourceAddrs: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"},
				Secret:      strings.Repeat("k", 64), Subprotocol: proto,
				Messages: 5, Interval: 20 * time.Millisecond, PayloadSize: 100, Drain: 5 * time.Second,
				TargetPID: os.Getpid(), ReportFile: report, InProcess: true,
			})
			if rep.ConnectionsOpened != 300 || rep.ConnectErrors != 0 {
				t.Errorf("opened %d, errors %+v", rep.ConnectionsOpened, rep.ConnectErrors)
			}
			if rep.MessagesSent != 5 || rep.MessagesAcked != 5 || rep.DeliveriesExpected != 1500 ||
				rep.MessagesReceived != 1500 || rep.MessagesLost != 0 || rep.UnexpectedFrames != 0 {
				t.Errorf("messages: %+v", rep)
			}
			if rep.DeliveryMs.Count != 1500 || rep.LastReceiptMs.Count != 5 || rep.AckMs.Count != 5 ||
				rep.ConnectMs.Count != 300 || rep.SubscribeMs.Count != 300 {
				t.Errorf("histogram counts: delivery %d last %d ack %d connect %d subscribe %d",
					rep.DeliveryMs.Count, rep.LastReceiptMs.Count, rep.AckMs.Count, rep.ConnectMs.Count, rep.SubscribeMs.Count)
			}
			if rep.LastReceiptMs.Max < rep.DeliveryMs.P50 || rep.DeliveryMs.Max <= 0 {
				t.Errorf("latencies: delivery %+v last %+v", rep.DeliveryMs, rep.LastReceiptMs)
			}
			if rep.RSSBeforeBytes == 0 || rep.RSSAfterBytes == 0 {
				t.Errorf("rss not sampled: %d %d", rep.RSSBeforeBytes, rep.RSSAfterBytes)
			}
			s.mu.Lock()
			users, remotes := len(s.users), len(s.remote)
			s.mu.Unlock()
			if users != 301 { // 300 subscribers and the publisher
				t.Errorf("server saw %d distinct users, want 301", users)
			}
			if remotes != 7 { // six source addresses and the publisher's 127.0.0.1
				t.Errorf("server saw %d source addresses, want 7", remotes)
			}
			b, err := os.ReadFile(report)
			if err != nil || !bytes.Contains(b, []byte(`"messages_received": 1500`)) {
				t.Errorf("report file: %v\n%s", err, b)
			}
		})
	}
}

func TestRunIdle(t *testing.T) {
	s := newFakeServer(t)
	rep := runT(t, Options{
		Scenario: ScenarioIdle, URL: s.url(), Conns: 200, Workers: 2, Rate: 5000,
		SourceAddrs: []string{"127.0.0.2", "127.0.0.3"}, Token: "static",
		Hold: 300 * time.Millisecond, Settle: 100 * time.Millisecond,
		TargetPID: os.Getpid(), InProcess: true,
	})
	if rep.ConnectionsOpened != 200 || rep.ConnectErrors != 0 || rep.ConnectionsDropped != 0 {
		t.Errorf("opened %d, errors %+v, dropped %d", rep.ConnectionsOpened, rep.ConnectErrors, rep.ConnectionsDropped)
	}
	if rep.ConnectMs.Count != 200 || rep.RSSBeforeBytes == 0 || rep.RSSAfterBytes == 0 || rep.TargetCPUSeconds < 0 {
		t.Errorf("measurements: %+v", rep)
	}
	if rep.MessagesSent != 0 || rep.DeliveryMs.Count != 0 {
		t.Errorf("idle run published: %+v", rep)
	}
}

func TestRunConnectErrors(t *testing.T) {
	// Nothing listens: every connection fails, and the run says why.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/v1/ws"
	ln.Close()
	rep := runT(t, Options{
		Scenario: ScenarioIdle, URL: url, Conns: 20, Workers: 2, Rate: 5000,
		SourceAddrs: []string{"127.0.0.2"}, Hold: 10 * time.Millisecond, Settle: 10 * time.Millisecond, InProcess: true,
	})
	if rep.ConnectionsOpened != 0 || rep.ConnectErrors != 20 || rep.ConnectErrorsByKind["dial:refused"] != 20 {
		t.Errorf("errors %+v", rep.ConnectErrors)
	}
}

// roomOptions are the options of a small room scenario against s.
func roomOptions(s *fakeServer, scenario string, conns, workers int) Options {
	return Options{
		Scenario: scenario, URL: s.url(), Conns: conns, Workers: workers, Rate: 5000,
		SourceAddrs: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"},
		Secret:      strings.Repeat("k", 64), Hold: time.Second, Drain: 2 * time.Second, Settle: 100 * time.Millisecond,
		InProcess: true,
	}
}

func TestRunDM(t *testing.T) {
	s := newFakeServer(t)
	dir := t.TempDir()
	opt := roomOptions(s, ScenarioDM, 40, 2)
	opt.PublishRate, opt.ReportFile, opt.ChartFile = 10, dir+"/dm.json", dir+"/dm.html"
	rep := runT(t, opt)
	// 40 users publish 10/s for 1 s; each message is due once, at the peer.
	if rep.ConnectionsOpened != 40 || rep.Rooms != 20 || rep.RoomSize != 2 {
		t.Errorf("opened %d, rooms %d of %d", rep.ConnectionsOpened, rep.Rooms, rep.RoomSize)
	}
	if rep.MessagesSent != 400 || rep.MessagesAcked != 400 || rep.DeliveriesExpected != 400 ||
		rep.MessagesReceived != 400 || rep.MessagesLost != 0 || rep.PublishErrors != 0 || rep.UnexpectedFrames != 0 {
		t.Errorf("messages: sent %d acked %d expected %d received %d lost %d errors %d unexpected %d",
			rep.MessagesSent, rep.MessagesAcked, rep.DeliveriesExpected, rep.MessagesReceived, rep.MessagesLost,
			rep.PublishErrors, rep.UnexpectedFrames)
	}
	if rep.AckMs.Count != 400 || rep.DeliveryMs.Count != 400 || rep.LastReceiptMs.Count != 400 || rep.SubscribeMs.Count != 40 {
		t.Errorf("histogram counts: ack %d delivery %d last %d subscribe %d",
			rep.AckMs.Count, rep.DeliveryMs.Count, rep.LastReceiptMs.Count, rep.SubscribeMs.Count)
	}
	s.mu.Lock()
	dms := len(s.members)
	s.mu.Unlock()
	if dms != 20 {
		t.Errorf("server has %d DMs, want 20", dms)
	}
	// The time series ends with the final counts; the chart shows it.
	last := rep.Series[len(rep.Series)-1]
	if last.Acked != 400 || last.Received != 400 || last.Connections != 40 {
		t.Errorf("last sample %+v", last)
	}
	var latencies int64
	for _, sm := range rep.Series {
		latencies += sm.LatencyCount
	}
	if latencies != 400 || rep.SeriesLatency != "delivery_ms" {
		t.Errorf("series holds %d %s values, want 400 delivery_ms", latencies, rep.SeriesLatency)
	}
	page, err := os.ReadFile(opt.ChartFile)
	if err != nil || !bytes.Contains(page, []byte("<svg")) || !bytes.Contains(page, []byte("Messages per second")) {
		t.Errorf("chart: %v", err)
	}
}

func TestRunChat(t *testing.T) {
	tests := []struct {
		name      string
		dropEvery int
	}{
		{name: "clean"},
		{name: "every 7th delivery dropped", dropEvery: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t)
			s.dropEvery = tt.dropEvery
			opt := roomOptions(s, ScenarioChat, 60, 3)
			opt.RoomSize, opt.PublishRate, opt.Subprotocol = 6, 5, wire.SubprotocolJSON
			if tt.dropEvery > 0 {
				opt.Drain = 300 * time.Millisecond // nothing more will come
			}
			rep := runT(t, opt)
			// 10 rooms publish 5/s for 1 s; 5 other members receive each.
			if rep.MessagesSent != 50 || rep.MessagesAcked != 50 || rep.DeliveriesExpected != 250 {
				t.Errorf("sent %d acked %d expected %d", rep.MessagesSent, rep.MessagesAcked, rep.DeliveriesExpected)
			}
			if rep.MessagesLost != rep.DeliveriesExpected-rep.MessagesReceived {
				t.Errorf("lost %d, want expected − received = %d", rep.MessagesLost, rep.DeliveriesExpected-rep.MessagesReceived)
			}
			var named int64
			for room, n := range rep.LostByRoom {
				if !strings.HasPrefix(room, "lg-") {
					t.Errorf("lost in room %q", room)
				}
				named += n
			}
			switch {
			case tt.dropEvery == 0 && (rep.MessagesLost != 0 || rep.RoomsWithLoss != 0 || rep.LastReceiptMs.Count != 50):
				t.Errorf("clean run: lost %d in %d rooms, %d messages reached everyone", rep.MessagesLost, rep.RoomsWithLoss, rep.LastReceiptMs.Count)
			case tt.dropEvery > 0 && (rep.MessagesLost == 0 || rep.RoomsWithLoss == 0 || named != rep.MessagesLost):
				t.Errorf("faulty run: lost %d in %d rooms, %d named by room", rep.MessagesLost, rep.RoomsWithLoss, named)
			}
		})
	}
}

func TestRunPresence(t *testing.T) {
	for _, mute := range []bool{false, true} {
		t.Run(fmt.Sprintf("mute=%v", mute), func(t *testing.T) {
			s := newFakeServer(t)
			s.mutePresence = mute // the server announces nothing
			opt := roomOptions(s, ScenarioPresence, 40, 2)
			opt.RoomSize, opt.Percent, opt.Down, opt.Drain = 8, 20, 200*time.Millisecond, time.Second
			rep := runT(t, opt)
			p := rep.Presence
			if p == nil {
				t.Fatal("no presence figures")
			}
			// Each cycle is a close and a connect; a user cycles at most once
			// here (it may again only once its change was judged, after the
			// 1 s drain), so a worker starts ⌈percent × its users × 1 s⌉.
			var cycles int64
			for w := range 2 {
				_, rooms := splitCount(5, w, 2)
				cycles += int64(math.Ceil(opt.Percent / 100 * float64(rooms*8)))
			}
			if p.Cycles != cycles || p.Reconnections != cycles || p.Changes != 2*cycles || p.ReconnectErrors != 0 {
				t.Errorf("cycles %d reconnections %d changes %d errors %d, want %d cycles",
					p.Cycles, p.Reconnections, p.Changes, p.ReconnectErrors, cycles)
			}
			// Most watchers stay connected through a change: 20 % churn.
			if p.Expected < p.Changes || p.Late != 0 || p.Duplicates != 0 {
				t.Errorf("expected %d for %d changes, late %d, duplicates %d", p.Expected, p.Changes, p.Late, p.Duplicates)
			}
			if mute {
				if p.Missed != p.Expected || p.EventsReceived != 0 || p.OnlineMs.Count != 0 {
					t.Errorf("silent server: missed %d of %d, received %d", p.Missed, p.Expected, p.EventsReceived)
				}
				return
			}
			if p.Missed != 0 || p.OnlineMs.Count == 0 || p.OfflineMs.Count == 0 || p.OnlineMs.Count+p.OfflineMs.Count < p.Expected {
				t.Errorf("presence %+v", p)
			}
			if rep.Series[len(rep.Series)-1].Presence != p.EventsReceived || rep.SeriesLatency != "presence_ms" {
				t.Errorf("series: %+v", rep.Series[len(rep.Series)-1])
			}
		})
	}
}

func TestRunReconnect(t *testing.T) {
	tests := []struct {
		name   string
		refuse bool // the server refuses every upgrade after the ramp
	}{
		{name: "recovers"},
		{name: "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t)
			opt := roomOptions(s, ScenarioReconnect, 100, 2)
			opt.Secret, opt.Token, opt.Percent = "", "static", 30
			if tt.refuse {
				s.maxUpgrades = 100
				opt.Drain = 500 * time.Millisecond
			}
			rep := runT(t, opt)
			c := rep.Reconnect
			if c == nil || c.Dropped != 30 {
				t.Fatalf("reconnect figures %+v, want 30 dropped", c)
			}
			if rep.ConnectionsOpened != 100 || rep.ConnectionsDropped != 0 {
				t.Errorf("opened %d, dropped by the server %d", rep.ConnectionsOpened, rep.ConnectionsDropped)
			}
			switch {
			case !tt.refuse && (c.Recovered != 30 || c.Failed != 0 || c.RecoveryMs.Count != 30 || c.RecoveryMs.Max <= 0):
				t.Errorf("recovery: %+v", c)
			case tt.refuse && (c.Recovered != 0 || c.Failed != 30 || c.ErrorsByKind["dial:http_503"] < 30 || c.Errors != sumKinds(c.ErrorsByKind)):
				t.Errorf("refused: %+v", c)
			}
		})
	}
}
