package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/salamhq/salam/wire"
)

// fanoutServer is a minimal wire v1 server for end-to-end tests of Run:
// connect, subscribe, and publish fanned out to every subscriber of the
// channel. It records the "sub" claim of every bearer token it sees.
type fanoutServer struct {
	ln net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex
	subs   map[string][]*srvConn
	seq    uint64
	users  map[string]bool
	remote map[string]bool // source IPs
}

type srvConn struct {
	nc    net.Conn
	codec wire.Codec
	wmu   sync.Mutex
}

func (c *srvConn) send(f *wire.Frame) {
	op := ws.OpText
	if c.codec.Binary() {
		op = ws.OpBinary
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = wsutil.WriteServerMessage(c.nc, op, c.codec.Append(nil, f))
}

func newFanoutServer(t *testing.T) *fanoutServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fanoutServer{ln: ln, subs: map[string][]*srvConn{}, users: map[string]bool{}, remote: map[string]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				s.serve(nc)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fanoutServer) url() string { return "ws://" + s.ln.Addr().String() + "/v1/ws" }

func (s *fanoutServer) serve(nc net.Conn) {
	var user string
	u := ws.Upgrader{
		Protocol: func(p []byte) bool { _, ok := wire.CodecFor(string(p)); return ok },
		OnHeader: func(k, v []byte) error {
			if strings.EqualFold(string(k), "Authorization") {
				user = jwtSubject(strings.TrimPrefix(string(v), "Bearer "))
			}
			return nil
		},
	}
	br := bufio.NewReader(nc)
	if b, _ := br.Peek(5); string(b) == "POST " { // the fanout channel being created over REST
		if req, err := http.ReadRequest(br); err == nil {
			io.Copy(io.Discard, req.Body)
		}
		nc.Write([]byte("HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		return
	}
	// The client speaks only after the 101, so br holds nothing past the handshake.
	hs, err := u.Upgrade(struct {
		io.Reader
		io.Writer
	}{br, nc})
	if err != nil {
		return
	}
	s.mu.Lock()
	s.users[user] = true
	s.remote[nc.RemoteAddr().(*net.TCPAddr).IP.String()] = true
	s.mu.Unlock()
	codec, _ := wire.CodecFor(hs.Protocol)
	c := &srvConn{nc: nc, codec: codec}
	r := wsutil.NewReader(bufio.NewReaderSize(nc, 512), ws.StateServerSide)
	ch := wsutil.ControlFrameHandler(nc, ws.StateServerSide)
	var f wire.Frame
	for {
		h, err := r.NextFrame()
		if err != nil {
			return
		}
		if h.OpCode.IsControl() {
			if err := ch(h, r); err != nil {
				return
			}
			continue
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		if err := codec.Decode(buf.Bytes(), &f); err != nil {
			return
		}
		switch f.Type {
		case wire.TypeConnect:
			c.send(&wire.Frame{Type: wire.TypeConnected, ID: f.ID, Session: "s", User: user})
		case wire.TypeSubscribe:
			s.mu.Lock()
			s.subs[f.Channel] = append(s.subs[f.Channel], c)
			s.mu.Unlock()
			c.send(&wire.Frame{Type: wire.TypeAck, ID: f.ID})
		case wire.TypePublish:
			s.mu.Lock()
			s.seq++
			ev := &wire.Frame{Type: wire.TypeEvent, Channel: f.Channel, Seq: s.seq, Data: f.Data, MsgID: f.MsgID, From: user}
			subs := append([]*srvConn(nil), s.subs[f.Channel]...)
			s.mu.Unlock()
			c.send(&wire.Frame{Type: wire.TypeAck, ID: f.ID, Seq: ev.Seq})
			for _, sc := range subs {
				sc.send(ev)
			}
		}
	}
}

// jwtSubject returns the unverified "sub" claim of a JWT, or the token.
func jwtSubject(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return tok
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tok
	}
	var c struct{ Sub string }
	if json.Unmarshal(b, &c) != nil {
		return tok
	}
	return c.Sub
}

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
			s := newFanoutServer(t)
			report := t.TempDir() + "/report.json"
			rep := runT(t, Options{
				Scenario: ScenarioFanout, URL: s.url(), Conns: 300, Workers: 3, Rate: 5000,
				SourceAddrs: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"},
				Secret:      strings.Repeat("k", 64), Subprotocol: proto,
				Messages: 5, Interval: 20 * time.Millisecond, PayloadSize: 100, Drain: 5 * time.Second,
				TargetPID: os.Getpid(), ReportFile: report, InProcess: true,
			})
			if rep.ConnectionsOpened != 300 || rep.ConnectErrors.Total != 0 {
				t.Errorf("opened %d, errors %+v", rep.ConnectionsOpened, rep.ConnectErrors)
			}
			if rep.MessagesSent != 5 || rep.MessagesAcked != 5 || rep.DeliveriesExpected != 1500 ||
				rep.DeliveriesReceived != 1500 || rep.Lost != 0 || rep.Unexpected != 0 {
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
			if err != nil || !bytes.Contains(b, []byte(`"deliveries_received": 1500`)) {
				t.Errorf("report file: %v\n%s", err, b)
			}
		})
	}
}

func TestRunIdle(t *testing.T) {
	s := newFanoutServer(t)
	rep := runT(t, Options{
		Scenario: ScenarioIdle, URL: s.url(), Conns: 200, Workers: 2, Rate: 5000,
		SourceAddrs: []string{"127.0.0.2", "127.0.0.3"}, Token: "static",
		Hold: 300 * time.Millisecond, Settle: 100 * time.Millisecond,
		TargetPID: os.Getpid(), InProcess: true,
	})
	if rep.ConnectionsOpened != 200 || rep.ConnectErrors.Total != 0 || rep.ConnectionsDropped != 0 {
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
	if rep.ConnectionsOpened != 0 || rep.ConnectErrors.Total != 20 || rep.ConnectErrors.ByKind["dial:refused"] != 20 {
		t.Errorf("errors %+v", rep.ConnectErrors)
	}
}
