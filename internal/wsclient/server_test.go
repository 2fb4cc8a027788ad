package wsclient

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

// testServer is a tiny wire v1 server on 127.0.0.1:0, built on gobwas/ws
// like the edge. It records what each upgrade request carried and runs
// handle for every accepted connection (default: serveProtocol).
type testServer struct {
	t      *testing.T
	ln     net.Listener
	token  string // required token ("" accepts anything)
	noSub  bool   // accept without selecting a subprotocol
	handle func(*srvConn)

	mu   sync.Mutex
	reqs []seenRequest
	wg   sync.WaitGroup
}

type seenRequest struct {
	uri, auth, origin, protocol string
	remote                      net.Addr
}

func newTestServer(t *testing.T, setup func(*testServer)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &testServer{t: t, ln: ln, handle: serveProtocol}
	if setup != nil {
		setup(s)
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) url() string { return "ws://" + s.ln.Addr().String() + "/v1/ws" }

func (s *testServer) requests() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.reqs...)
}

func (s *testServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
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
}

func (s *testServer) serve(nc net.Conn) {
	req := seenRequest{remote: nc.RemoteAddr()}
	u := ws.Upgrader{
		OnRequest: func(uri []byte) error { req.uri = string(uri); return nil },
		OnHeader: func(k, v []byte) error {
			switch strings.ToLower(string(k)) {
			case "authorization":
				req.auth = string(v)
			case "origin":
				req.origin = string(v)
			}
			return nil
		},
		Protocol: func(p []byte) bool {
			ok := !s.noSub && (string(p) == wire.SubprotocolMsgpack || string(p) == wire.SubprotocolJSON)
			if ok {
				req.protocol = string(p)
			}
			return ok
		},
		OnBeforeUpgrade: func() (ws.HandshakeHeader, error) {
			// Record before answering: the client may look right after.
			s.mu.Lock()
			s.reqs = append(s.reqs, req)
			s.mu.Unlock()
			if s.token != "" && req.auth != "Bearer "+s.token && !strings.Contains(req.uri, "token="+s.token) {
				return nil, ws.RejectConnectionError(ws.RejectionStatus(401), ws.RejectionReason("invalid token"))
			}
			return nil, nil
		},
	}
	hs, err := u.Upgrade(nc)
	if err != nil {
		return
	}
	codec, ok := wire.CodecFor(hs.Protocol)
	if !ok {
		codec = wire.Msgpack
	}
	s.handle(&srvConn{t: s.t, nc: nc, br: bufio.NewReader(nc), codec: codec})
}

// srvConn is the server end of one connection.
type srvConn struct {
	t     *testing.T
	nc    net.Conn
	br    *bufio.Reader
	codec wire.Codec
	wmu   sync.Mutex
}

// readFrame reads one client frame, unmasked; it fails the test's
// expectations by returning an error when the client did not mask.
func (c *srvConn) readFrame() (ws.Header, []byte, error) {
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return h, nil, err
	}
	if err := ws.CheckHeader(h, ws.StateServerSide); err != nil {
		return h, nil, err
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return h, nil, err
	}
	ws.Cipher(p, h.Mask, 0)
	return h, p, nil
}

// readWire reads the next data frame and decodes it, skipping pongs.
func (c *srvConn) readWire(f *wire.Frame) (ws.OpCode, error) {
	for {
		h, p, err := c.readFrame()
		if err != nil {
			return 0, err
		}
		switch h.OpCode {
		case ws.OpPong, ws.OpPing:
			continue
		case ws.OpClose:
			code := uint16(0)
			if len(p) >= 2 {
				code = binary.BigEndian.Uint16(p)
			}
			return ws.OpClose, &CloseError{Code: code}
		}
		return h.OpCode, c.codec.Decode(p, f)
	}
}

func (c *srvConn) writeRaw(op ws.OpCode, fin bool, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return ws.WriteFrame(c.nc, ws.NewFrame(op, fin, p))
}

func (c *srvConn) send(f *wire.Frame) error {
	op := ws.OpText
	if c.codec.Binary() {
		op = ws.OpBinary
	}
	return c.writeRaw(op, true, c.codec.Append(nil, f))
}

// serveProtocol answers connect with connected, subscribe with ack, and
// publish with an ack followed by the event on the same connection (so one
// connection sees acks and events interleaved). A publish to channel
// "deny" gets an error frame.
func serveProtocol(c *srvConn) {
	var f wire.Frame
	var seq uint64
	for {
		if _, err := c.readWire(&f); err != nil {
			return
		}
		switch f.Type {
		case wire.TypeConnect:
			c.send(&wire.Frame{Type: wire.TypeConnected, ID: f.ID, Session: "s1", User: "u1", Time: 1,
				Limits: wire.Limits{PingInterval: 25}})
		case wire.TypeSubscribe:
			c.send(&wire.Frame{Type: wire.TypeAck, ID: f.ID})
		case wire.TypePublish:
			if f.Channel == "deny" {
				c.send(&wire.Frame{Type: wire.TypeError, ID: f.ID, Code: wire.CodePermissionDenied, Reason: "no"})
				continue
			}
			seq++
			c.send(&wire.Frame{Type: wire.TypeAck, ID: f.ID, Seq: seq, Time: 2})
			c.send(&wire.Frame{Type: wire.TypeEvent, Channel: f.Channel, Seq: seq, Data: f.Data, MsgID: f.MsgID, From: "u1"})
		}
	}
}
