//go:build linux

package wsclient

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

// recorder is a PollHandler that keeps what it got.
type recorder struct {
	mu     sync.Mutex
	frames []wire.Frame
	skips  []error
	end    chan error
}

func newRecorder() *recorder { return &recorder{end: make(chan error, 1)} }

func (r *recorder) OnFrame(f *wire.Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := *f
	g.Data = append([]byte(nil), f.Data...)
	r.frames = append(r.frames, g)
}

func (r *recorder) OnSkip(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skips = append(r.skips, err)
}

func (r *recorder) OnEnd(err error) { r.end <- err }

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// checkFor polls f until it returns nil or timeout passes.
func checkFor(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run() }()
	t.Cleanup(func() {
		p.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not stop after Close")
		}
	})
	return p
}

func TestPollerManyConns(t *testing.T) {
	s := newTestServer(t, nil)
	p := startPoller(t)
	const n = 50
	var conns []*Conn
	var recs []*recorder
	for range n {
		c := dialT(t, s.url(), Options{})
		if _, err := c.Connect(testCtx(t), "test/1"); err != nil {
			t.Fatal(err)
		}
		r := newRecorder()
		if err := p.Add(c, r); err != nil {
			t.Fatal(err)
		}
		conns, recs = append(conns, c), append(recs, r)
	}
	if p.Len() != n {
		t.Fatalf("Len = %d", p.Len())
	}
	// Each publish is answered with an ack and an event on the same
	// connection; payloads larger than the read buffer exercise reassembly.
	for i, c := range conns {
		for j := range 3 {
			data := fmt.Appendf(nil, "%d-%d-%0*d", i, j, j*400, 0)
			if err := c.Send(&wire.Frame{Type: wire.TypePublish, ID: uint32(j + 10), Channel: "a", Data: data}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, r := range recs {
		checkFor(t, 5*time.Second, func() error {
			if got := r.count(); got != 6 {
				return fmt.Errorf("conn %d: %d frames, want 6", i, got)
			}
			return nil
		})
		r.mu.Lock()
		for j, f := range r.frames {
			want := fmt.Appendf(nil, "%d-%d-%0*d", i, j/2, (j/2)*400, 0)
			if j%2 == 0 && (f.Type != wire.TypeAck || f.ID != uint32(j/2+10)) {
				t.Errorf("conn %d frame %d: %+v, want ack", i, j, f)
			}
			if j%2 == 1 && (f.Type != wire.TypeEvent || string(f.Data) != string(want)) {
				t.Errorf("conn %d frame %d: type %v data %.20q", i, j, f.Type, f.Data)
			}
		}
		r.mu.Unlock()
	}
}

func TestPollerPingCloseAndBuffered(t *testing.T) {
	pongs := make(chan string, 1)
	closeNow := make(chan struct{})
	echoed := make(chan uint16, 1)
	s := newTestServer(t, func(s *testServer) {
		s.handle = func(c *srvConn) {
			var f wire.Frame
			c.readWire(&f)
			// connected and an event in one write: the event is buffered
			// in the client before the poller sees the connection.
			b := append(ws.MustCompileFrame(ws.NewBinaryFrame(c.codec.Append(nil, &wire.Frame{Type: wire.TypeConnected, ID: f.ID}))),
				ws.MustCompileFrame(ws.NewBinaryFrame(c.codec.Append(nil, &wire.Frame{Type: wire.TypeEvent, Seq: 1})))...)
			c.nc.Write(b)
			c.readWire(&f) // the client's signal that it was added
			c.writeRaw(ws.OpPing, true, []byte("p1"))
			h, p, err := c.readFrame()
			if err == nil && h.OpCode == ws.OpPong {
				pongs <- string(p)
			}
			c.writeRaw(ws.OpText, true, []byte("{}")) // wrong type: skipped
			<-closeNow
			c.writeRaw(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusCode(wire.CloseShutdown), "bye"))
			_, err = c.readWire(&f)
			var ce *CloseError
			if errors.As(err, &ce) {
				echoed <- ce.Code
			}
		}
	})
	p := startPoller(t)
	c := dialT(t, s.url(), Options{})
	if _, err := c.Connect(testCtx(t), "test/1"); err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	if err := p.Add(c, r); err != nil {
		t.Fatal(err)
	}
	if r.count() != 1 || r.frames[0].Type != wire.TypeEvent {
		t.Fatalf("buffered event not delivered by Add: %+v", r.frames)
	}
	c.Send(&wire.Frame{Type: wire.TypePing})
	select {
	case got := <-pongs:
		if got != "p1" {
			t.Errorf("pong %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong from the poller")
	}
	checkFor(t, 5*time.Second, func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.skips) != 1 || !errors.Is(r.skips[0], ErrMessageType) {
			return fmt.Errorf("skips %v", r.skips)
		}
		return nil
	})
	close(closeNow)
	select {
	case err := <-r.end:
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != wire.CloseShutdown || ce.Reason != "bye" {
			t.Errorf("OnEnd(%v), want close 4006", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnEnd")
	}
	if code := <-echoed; code != wire.CloseShutdown {
		t.Errorf("echoed close %d", code)
	}
	if p.Len() != 0 {
		t.Errorf("Len after end = %d", p.Len())
	}
}

func TestPollerEOF(t *testing.T) {
	s := newTestServer(t, func(s *testServer) {
		s.handle = func(c *srvConn) {
			var f wire.Frame
			c.readWire(&f)
			c.send(&wire.Frame{Type: wire.TypeConnected, ID: f.ID})
			c.readWire(&f)
			c.nc.Close() // no close frame
		}
	})
	p := startPoller(t)
	c := dialT(t, s.url(), Options{})
	if _, err := c.Connect(testCtx(t), "test/1"); err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	if err := p.Add(c, r); err != nil {
		t.Fatal(err)
	}
	c.Send(&wire.Frame{Type: wire.TypePing})
	select {
	case err := <-r.end:
		if !errors.Is(err, io.EOF) {
			t.Errorf("OnEnd(%v), want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnEnd")
	}
}
