package wsclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialT(t *testing.T, url string, opt Options) *Conn {
	t.Helper()
	c, err := Dial(testCtx(t), url, opt)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDialToken(t *testing.T) {
	tests := []struct {
		name      string
		opt       Options
		wantAuth  string
		wantQuery string
	}{
		{
			name:     "header",
			opt:      Options{Token: "tok1", Origin: "https://app.example"},
			wantAuth: "Bearer tok1",
		},
		{
			name:      "query",
			opt:       Options{Token: "tok1", TokenInQuery: true},
			wantQuery: "token=tok1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, func(s *testServer) { s.token = "tok1" })
			c := dialT(t, s.url()+"?x=1", tt.opt)
			if _, err := c.Connect(testCtx(t), "test/1"); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			req := s.requests()[0]
			if req.auth != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", req.auth, tt.wantAuth)
			}
			if !strings.HasPrefix(req.uri, "/v1/ws?") || !strings.Contains(req.uri, "x=1") {
				t.Errorf("request URI %q lost path or query", req.uri)
			}
			if tt.wantQuery != "" && !strings.Contains(req.uri, tt.wantQuery) {
				t.Errorf("request URI %q lacks %q", req.uri, tt.wantQuery)
			}
			if tt.wantQuery == "" && strings.Contains(req.uri, "token=") {
				t.Errorf("request URI %q carries the token", req.uri)
			}
			if req.origin != tt.opt.Origin {
				t.Errorf("Origin = %q, want %q", req.origin, tt.opt.Origin)
			}
		})
	}
}

func TestDialSubprotocol(t *testing.T) {
	for _, proto := range []string{"", wire.SubprotocolMsgpack, wire.SubprotocolJSON} {
		t.Run("offer="+proto, func(t *testing.T) {
			s := newTestServer(t, nil)
			c := dialT(t, s.url(), Options{Subprotocol: proto})
			want := proto
			if want == "" {
				want = wire.SubprotocolMsgpack
			}
			if c.Subprotocol() != want || s.requests()[0].protocol != want {
				t.Fatalf("negotiated %q (server %q), want %q", c.Subprotocol(), s.requests()[0].protocol, want)
			}
			got, err := c.Connect(testCtx(t), "test/1")
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if got.Type != wire.TypeConnected || got.Session != "s1" || got.Limits.PingInterval != 25 {
				t.Errorf("connected = %+v", got)
			}
		})
	}
	t.Run("none selected", func(t *testing.T) {
		s := newTestServer(t, func(s *testServer) { s.noSub = true })
		_, err := Dial(testCtx(t), s.url(), Options{})
		if !errors.Is(err, ErrSubprotocol) {
			t.Fatalf("Dial error = %v, want ErrSubprotocol", err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if _, err := Dial(testCtx(t), "ws://127.0.0.1:1/", Options{Subprotocol: "x"}); err == nil {
			t.Fatal("Dial with unknown subprotocol succeeded")
		}
	})
}

func TestDialRefused(t *testing.T) {
	s := newTestServer(t, func(s *testServer) { s.token = "good" })
	_, err := Dial(testCtx(t), s.url(), Options{Token: "bad"})
	var he *HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("Dial error = %v (%T), want *HandshakeError", err, err)
	}
	if he.Status != 401 {
		t.Errorf("Status = %d, want 401", he.Status)
	}
	if !strings.Contains(he.Body, "invalid token") {
		t.Errorf("Body = %q, want it to contain the reason", he.Body)
	}
	if he.Header == nil {
		t.Errorf("Header not parsed")
	}
}

func TestDialLocalAddr(t *testing.T) {
	s := newTestServer(t, nil)
	for _, ip := range []string{"127.0.0.7", "127.0.0.8"} {
		c := dialT(t, s.url(), Options{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}})
		if _, err := c.Connect(testCtx(t), "test/1"); err != nil {
			t.Fatalf("Connect: %v", err)
		}
	}
	reqs := s.requests()
	for i, ip := range []string{"127.0.0.7", "127.0.0.8"} {
		if got := reqs[i].remote.(*net.TCPAddr).IP.String(); got != ip {
			t.Errorf("connection %d came from %s, want %s", i, got, ip)
		}
	}
}

func TestPingAnswered(t *testing.T) {
	pongs := make(chan []byte, 1)
	s := newTestServer(t, func(s *testServer) {
		s.handle = func(c *srvConn) {
			var f wire.Frame
			if _, err := c.readWire(&f); err != nil || f.Type != wire.TypeConnect {
				return
			}
			// Ping before answering, in the middle of a fragmented message.
			c.writeRaw(ws.OpPing, true, []byte("hb-1"))
			msg := c.codec.Append(nil, &wire.Frame{Type: wire.TypeConnected, ID: f.ID, Session: "s1"})
			c.writeRaw(ws.OpBinary, false, msg[:3])
			c.writeRaw(ws.OpPing, true, []byte("hb-2"))
			c.writeRaw(ws.OpContinuation, true, msg[3:])
			var got []byte
			for len(got) < len("hb-1hb-2") {
				h, p, err := c.readFrame()
				if err != nil {
					return
				}
				if h.OpCode != ws.OpPong {
					t.Errorf("got opcode %v, want pong", h.OpCode)
				}
				got = append(got, p...)
			}
			pongs <- got
			c.readFrame() // until the client goes
		}
	})
	c := dialT(t, s.url(), Options{})
	f, err := c.Connect(testCtx(t), "test/1")
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if f.Session != "s1" {
		t.Errorf("connected = %+v", f)
	}
	select {
	case p := <-pongs:
		if string(p) != "hb-1hb-2" {
			t.Errorf("pong payloads %q, want echo of the pings", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pongs")
	}
}

func TestCloseFromServer(t *testing.T) {
	echoed := make(chan uint16, 1)
	s := newTestServer(t, func(s *testServer) {
		s.handle = func(c *srvConn) {
			var f wire.Frame
			c.readWire(&f)
			c.send(&wire.Frame{Type: wire.TypeConnected, ID: f.ID})
			c.writeRaw(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusCode(wire.CloseSlowConsumer), "slow"))
			_, err := c.readWire(&f)
			var ce *CloseError
			if errors.As(err, &ce) {
				echoed <- ce.Code
			}
		}
	})
	c := dialT(t, s.url(), Options{})
	if _, err := c.Connect(testCtx(t), "test/1"); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	var f wire.Frame
	err := c.Read(&f)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != wire.CloseSlowConsumer || ce.Reason != "slow" {
		t.Fatalf("Read error = %v, want CloseError 4004 slow", err)
	}
	if err2 := c.Read(&f); err2 != err {
		t.Errorf("second Read = %v, want the same sticky error", err2)
	}
	if err := c.Send(&wire.Frame{Type: wire.TypePing}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after close = %v, want ErrClosed", err)
	}
	select {
	case code := <-echoed:
		if code != wire.CloseSlowConsumer {
			t.Errorf("client echoed close code %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client did not echo the close frame")
	}
}

func TestReadMessages(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 10_000)
	s := newTestServer(t, func(s *testServer) {
		s.handle = func(c *srvConn) {
			var f wire.Frame
			c.readWire(&f)
			c.send(&wire.Frame{Type: wire.TypeConnected, ID: f.ID})
			// Larger than the read buffer, in one frame and fragmented.
			c.send(&wire.Frame{Type: wire.TypeEvent, Channel: "a", Seq: 1, Data: big})
			msg := c.codec.Append(nil, &wire.Frame{Type: wire.TypeEvent, Channel: "a", Seq: 2, Data: big})
			c.writeRaw(ws.OpBinary, false, msg[:100])
			c.writeRaw(ws.OpContinuation, false, msg[100:5000])
			c.writeRaw(ws.OpContinuation, true, msg[5000:])
			// Wrong message type: skipped, connection stays usable.
			c.writeRaw(ws.OpText, true, []byte(`{"t":8}`))
			// Garbage: decode error, connection stays usable.
			c.writeRaw(ws.OpBinary, true, []byte{0xc1})
			c.send(&wire.Frame{Type: wire.TypeEvent, Channel: "a", Seq: 3, Data: []byte("small")})
			c.readFrame()
		}
	})
	c := dialT(t, s.url(), Options{})
	if _, err := c.Connect(testCtx(t), "test/1"); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	var f wire.Frame
	for seq := uint64(1); seq <= 2; seq++ {
		if err := c.Read(&f); err != nil {
			t.Fatalf("Read %d: %v", seq, err)
		}
		if f.Seq != seq || !bytes.Equal(f.Data, big) {
			t.Fatalf("Read %d: seq %d, %d bytes", seq, f.Seq, len(f.Data))
		}
	}
	if err := c.Read(&f); !errors.Is(err, ErrMessageType) {
		t.Errorf("text message: %v, want ErrMessageType", err)
	}
	if err := c.Read(&f); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("garbage: %v, want wire.ErrMalformed", err)
	}
	if err := c.Read(&f); err != nil || f.Seq != 3 || string(f.Data) != "small" {
		t.Errorf("Read after errors: %v %+v", err, f)
	}
}

func TestMessageTooLarge(t *testing.T) {
	s := newTestServer(t, func(s *testServer) {
		s.handle = func(c *srvConn) {
			c.send(&wire.Frame{Type: wire.TypeEvent, Data: make([]byte, 2000)})
			c.readFrame()
		}
	})
	c := dialT(t, s.url(), Options{MaxMessageSize: 1000})
	var f wire.Frame
	if err := c.Read(&f); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("Read = %v, want ErrMessageTooLarge", err)
	}
}

func TestProtocolViolation(t *testing.T) {
	s := newTestServer(t, func(s *testServer) {
		s.handle = func(c *srvConn) {
			// A masked frame from a server is forbidden.
			f := ws.MaskFrame(ws.NewBinaryFrame([]byte{0x81, 0xa1, 0x74, 0x08}))
			ws.WriteFrame(c.nc, f)
			c.readFrame()
		}
	})
	c := dialT(t, s.url(), Options{})
	var f wire.Frame
	if err := c.Read(&f); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Read = %v, want ErrProtocol", err)
	}
}

func TestCallErrorAndTimeout(t *testing.T) {
	s := newTestServer(t, func(s *testServer) {
		s.handle = func(c *srvConn) {
			var f wire.Frame
			for {
				if _, err := c.readWire(&f); err != nil {
					return
				}
				switch f.Type {
				case wire.TypeConnect:
					c.send(&wire.Frame{Type: wire.TypeError, ID: f.ID, Code: wire.CodeRateLimited, Reason: "slow down"})
				case wire.TypeSubscribe:
					// never answered
				}
			}
		}
	})
	c := dialT(t, s.url(), Options{})
	_, err := c.Connect(testCtx(t), "test/1")
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeRateLimited {
		t.Fatalf("Connect = %v, want wire error rate_limited", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Subscribe(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Subscribe = %v, want DeadlineExceeded", err)
	}
}

func TestDispatchRequest(t *testing.T) {
	for _, proto := range []string{wire.SubprotocolMsgpack, wire.SubprotocolJSON} {
		t.Run(proto, func(t *testing.T) {
			s := newTestServer(t, nil)
			c := dialT(t, s.url(), Options{Subprotocol: proto})
			ctx := testCtx(t)
			if _, err := c.Connect(ctx, "test/1"); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if err := c.Subscribe(ctx, "room"); err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			var mu sync.Mutex
			events := map[string]bool{}
			done := make(chan error, 1)
			go func() {
				done <- c.Dispatch(func(f *wire.Frame) {
					if f.Type == wire.TypeEvent {
						mu.Lock()
						events[string(f.Data)] = true
						mu.Unlock()
					}
				})
			}()
			const n = 50
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					data := fmt.Sprintf("m%d", i)
					ack, err := c.Request(ctx, &wire.Frame{Type: wire.TypePublish, Channel: "room", Data: []byte(data)})
					if err != nil || ack.Type != wire.TypeAck || ack.Seq == 0 {
						t.Errorf("publish %d: %v %+v", i, err, ack)
					}
				}()
			}
			wg.Wait()
			_, err := c.Request(ctx, &wire.Frame{Type: wire.TypePublish, Channel: "deny"})
			var we *wire.Error
			if !errors.As(err, &we) || we.Code != wire.CodePermissionDenied {
				t.Errorf("denied publish = %v", err)
			}
			c.Close()
			if err := <-done; !errors.Is(err, ErrClosed) {
				t.Errorf("Dispatch ended with %v, want ErrClosed", err)
			}
			if _, err := c.Request(ctx, &wire.Frame{Type: wire.TypePublish, Channel: "room"}); err == nil {
				t.Error("Request after Dispatch ended succeeded")
			}
			mu.Lock()
			defer mu.Unlock()
			if len(events) != n {
				t.Errorf("got %d events, want %d", len(events), n)
			}
		})
	}
}

func TestSendConcurrentWhole(t *testing.T) {
	// Concurrent senders must never interleave bytes of two messages.
	got := make(chan int, 1)
	s := newTestServer(t, func(s *testServer) {
		s.handle = func(c *srvConn) {
			var f wire.Frame
			n := 0
			for {
				if _, err := c.readWire(&f); err != nil {
					got <- n
					return
				}
				if len(f.Data) != 3000 {
					t.Errorf("message %d has %d data bytes", n, len(f.Data))
				}
				n++
			}
		}
	})
	c := dialT(t, s.url(), Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := c.Send(&wire.Frame{Type: wire.TypePublish, Channel: "a", Data: make([]byte, 3000)}); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.Close()
	if n := <-got; n != 400 {
		t.Errorf("server decoded %d messages, want 400", n)
	}
}
