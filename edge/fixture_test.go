package edge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

const testSecret = "0123456789abcdef0123456789abcdef-test-secret"

type fixture struct {
	t        *testing.T
	srv      *Server
	nc       *nats.Conn
	url      string
	stopCore func() // stops the core responder
}

// newFixture starts an embedded NATS server, a minimal core responder (a
// per-channel sequencer, as core/relay does) and an edge on 127.0.0.1:0.
func newFixture(t *testing.T, edit func(*Config), with ...func(*Options)) *fixture {
	t.Helper()
	_, nc := bustest.Start(t)
	stopCore := startResponder(t, nc)
	verifier, err := auth.NewVerifier(auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Listen: "127.0.0.1:0"}
	if edit != nil {
		edit(&cfg)
	}
	opts := Options{Config: cfg, Verifier: verifier, NATS: nc, RequestTimeout: time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "plain %s", r.URL.Path) })}
	for _, w := range with {
		w(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &fixture{t: t, srv: srv, nc: nc, url: "ws://" + srv.Addr().String() + WebSocketPath, stopCore: stopCore}
}

// startResponder plays core for edge tests: it numbers publishes per
// channel, keeps them in memory for resume, and lets every user read every
// channel except "forbidden".
func startResponder(t *testing.T, nc *nats.Conn) (stop func()) {
	var mu sync.Mutex
	logs := map[string][]wire.Message{}
	decode := func(m *nats.Msg) (bus.Request, *wire.Frame) {
		var req bus.Request
		f := new(wire.Frame)
		if req.DecodeMsgpack(m.Data) != nil || wire.Msgpack.Decode(req.Frame, f) != nil {
			t.Errorf("responder: bad request on %s", m.Subject)
		}
		return req, f
	}
	reply := func(m *nats.Msg, f *wire.Frame) { m.Respond(wire.Msgpack.Append(nil, f)) }
	pub, err := nc.QueueSubscribe(bus.PublishWildcard, bus.QueueCore, func(m *nats.Msg) {
		req, f := decode(m)
		mu.Lock()
		msg := wire.Message{Seq: uint64(len(logs[f.Channel]) + 1), From: req.User, MsgID: f.MsgID, Data: f.Data, Time: time.Now().UnixMilli()}
		logs[f.Channel] = append(logs[f.Channel], msg)
		mu.Unlock()
		ev := wire.Frame{Type: wire.TypeEvent, Channel: f.Channel, Seq: msg.Seq, From: msg.From, MsgID: msg.MsgID, Time: msg.Time, Data: msg.Data}
		nc.Publish(bus.EventSubject(f.Channel), wire.Msgpack.Append(nil, &ev))
		reply(m, &wire.Frame{Type: wire.TypeAck, Seq: msg.Seq, Time: msg.Time})
	})
	if err != nil {
		t.Fatal(err)
	}
	other, err := nc.QueueSubscribe(bus.RequestWildcard, bus.QueueCore, func(m *nats.Msg) {
		_, f := decode(m)
		switch {
		case f.Channel == "forbidden":
			reply(m, &wire.Frame{Type: wire.TypeError, Code: wire.CodeNotMember, Reason: "not a member"})
		case f.Type == wire.TypeSubscribe && f.Seq > 0:
			mu.Lock()
			missed := append([]wire.Message(nil), logs[f.Channel][min(int(f.Seq), len(logs[f.Channel])):]...)
			mu.Unlock()
			reply(m, &wire.Frame{Type: wire.TypeMessages, Messages: missed})
		default:
			reply(m, &wire.Frame{Type: wire.TypeAck})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	stop = func() { pub.Unsubscribe(); other.Unsubscribe(); nc.Flush() }
	t.Cleanup(stop)
	return stop
}

func token(t testing.TB, user string) string {
	tok, err := auth.MintHS256(testSecret, user, time.Hour, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// dial opens a WebSocket for user without sending connect.
func (f *fixture) dial(user string, opt wsclient.Options) *wsclient.Conn {
	f.t.Helper()
	if opt.Token == "" {
		opt.Token = token(f.t, user)
	}
	c, err := wsclient.Dial(ctx(f.t), f.url, opt)
	if err != nil {
		f.t.Fatalf("dial: %v", err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

// client opens a connected session for user.
func (f *fixture) client(user string, opt wsclient.Options) *wsclient.Conn {
	f.t.Helper()
	c := f.dial(user, opt)
	if _, err := c.Connect(ctx(f.t), "edge-test"); err != nil {
		f.t.Fatalf("connect: %v", err)
	}
	return c
}

// rawUpgrade opens a TCP connection and completes a WebSocket handshake by
// hand, so tests can then write arbitrary bytes.
func (f *fixture) rawUpgrade(user string) (net.Conn, *bufio.Reader) {
	f.t.Helper()
	conn, err := net.Dial("tcp", f.srv.Addr().String())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Protocol: salam.v1\r\nAuthorization: Bearer %s\r\n\r\n", token(f.t, user))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		f.t.Fatalf("raw upgrade: %v %v", resp, err)
	}
	return conn, br
}

// readClose reads server frames until a close frame and returns its code.
func readClose(t *testing.T, conn net.Conn, br *bufio.Reader) uint16 {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("reading close: %v", err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			io.ReadFull(br, ext[:])
			n = int(ext[0])<<8 | int(ext[1])
		case 127:
			var ext [8]byte
			io.ReadFull(br, ext[:])
			n = int(ext[6])<<8 | int(ext[7])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatalf("reading close payload: %v", err)
		}
		if h[0]&0x0f == 0x8 {
			if n < 2 {
				return 1005
			}
			return uint16(payload[0])<<8 | uint16(payload[1])
		}
	}
}

// maskedFrame builds a client frame with the given first byte and payload.
func maskedFrame(b0 byte, payload []byte) []byte {
	mask := [4]byte{1, 2, 3, 4}
	out := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, 0x80|byte(n))
	case n <= 0xffff:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	out = append(out, mask[:]...)
	for i, c := range payload {
		out = append(out, c^mask[i%4])
	}
	return out
}

// expectClose reads from a wsclient connection until the server closes it.
func expectClose(t *testing.T, c *wsclient.Conn, want uint16) {
	t.Helper()
	c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
	var f wire.Frame
	for {
		err := c.Read(&f)
		if err == nil {
			continue
		}
		var ce *wsclient.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("want close %d, got %v", want, err)
		}
		if ce.Code != want {
			t.Fatalf("close code %d (%s), want %d", ce.Code, ce.Reason, want)
		}
		return
	}
}

// waitFor polls cond until it holds or the deadline passes (no fixed sleeps).
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func httpGet(t *testing.T, addr, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, "" // the body is the WebSocket stream
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, strings.TrimSpace(string(body))
}

func mintWith(secret, user string) (string, error) {
	return auth.MintHS256(secret, user, time.Hour, "", "")
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
