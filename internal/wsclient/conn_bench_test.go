package wsclient

import (
	"net"
	"testing"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

// loopConn serves the same server bytes forever and discards writes.
type loopConn struct {
	net.Conn
	src []byte
	off int
}

func (l *loopConn) Read(p []byte) (int, error) {
	n := copy(p, l.src[l.off:])
	l.off = (l.off + n) % len(l.src)
	return n, nil
}

func (l *loopConn) Write(p []byte) (int, error) { return len(p), nil }

func newLoopConn(tb testing.TB, payload int) *Conn {
	tb.Helper()
	msg := wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeEvent, Channel: "room", Seq: 7,
		Data: make([]byte, payload), From: "u1", MsgID: "m1", Time: 1})
	frame, err := ws.CompileFrame(ws.NewBinaryFrame(msg))
	if err != nil {
		tb.Fatal(err)
	}
	opt := Options{}
	opt.ensureDefaults()
	return newConn(&loopConn{src: frame}, wire.Msgpack, opt)
}

func TestAllocs(t *testing.T) {
	c := newLoopConn(t, 64)
	var f wire.Frame
	if err := c.Read(&f); err != nil {
		t.Fatal(err)
	}
	// Decode copies the strings of an event (channel, from, msg id); Read
	// itself must add nothing to that.
	msg := wire.Msgpack.Append(nil, &f)
	var g wire.Frame
	decode := testing.AllocsPerRun(100, func() { _ = wire.Msgpack.Decode(msg, &g) })
	if n := testing.AllocsPerRun(100, func() { _ = c.Read(&f) }); n > decode {
		t.Errorf("Read allocates %.1f times per small message, Decode alone %.1f", n, decode)
	}
	pub := &wire.Frame{Type: wire.TypePublish, ID: 1, Channel: "room", Data: make([]byte, 64)}
	if n := testing.AllocsPerRun(100, func() { _ = c.Send(pub) }); n > 0 {
		t.Errorf("Send allocates %.1f times per small message", n)
	}
}

func BenchmarkRead64(b *testing.B)   { benchRead(b, 64) }
func BenchmarkRead4096(b *testing.B) { benchRead(b, 4096) }

func benchRead(b *testing.B, payload int) {
	c := newLoopConn(b, payload)
	var f wire.Frame
	b.ReportAllocs()
	b.SetBytes(int64(payload))
	for b.Loop() {
		if err := c.Read(&f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSend64(b *testing.B)   { benchSend(b, 64) }
func BenchmarkSend4096(b *testing.B) { benchSend(b, 4096) }

func benchSend(b *testing.B, payload int) {
	c := newLoopConn(b, 1)
	f := &wire.Frame{Type: wire.TypePublish, ID: 1, Channel: "room", Data: make([]byte, payload)}
	b.ReportAllocs()
	b.SetBytes(int64(payload))
	for b.Loop() {
		if err := c.Send(f); err != nil {
			b.Fatal(err)
		}
	}
}
