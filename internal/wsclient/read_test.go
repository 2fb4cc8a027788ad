package wsclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

// chunkConn serves src in reads of at most chunk bytes, then io.EOF, and
// records what is written to it.
type chunkConn struct {
	net.Conn
	src     []byte
	chunk   int
	written bytes.Buffer
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.src) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.chunk)], c.src)
	c.src = c.src[n:]
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error) { return c.written.Write(p) }

func frameBytes(op ws.OpCode, fin bool, p []byte) []byte {
	return ws.MustCompileFrame(ws.NewFrame(op, fin, p))
}

// TestReadChunked feeds one stream, cut into reads of every size from 1
// byte up, and checks the parser resumes correctly wherever a read ends.
func TestReadChunked(t *testing.T) {
	codec := wire.Msgpack
	events := []*wire.Frame{
		{Type: wire.TypeEvent, Seq: 1, Data: []byte("small")},
		{Type: wire.TypeEvent, Seq: 2, Data: bytes.Repeat([]byte("m"), 300)},    // 16-bit length
		{Type: wire.TypeEvent, Seq: 3, Data: bytes.Repeat([]byte("L"), 70_000)}, // 64-bit length, direct read
		{Type: wire.TypeEvent, Seq: 4, Data: bytes.Repeat([]byte("f"), 1000)},   // fragmented below
		{Type: wire.TypeEvent, Seq: 5},
	}
	var stream []byte
	stream = append(stream, frameBytes(ws.OpPing, true, []byte("a"))...)
	for _, e := range events[:3] {
		stream = append(stream, frameBytes(ws.OpBinary, true, codec.Append(nil, e))...)
	}
	m := codec.Append(nil, events[3])
	stream = append(stream, frameBytes(ws.OpBinary, false, m[:10])...)
	stream = append(stream, frameBytes(ws.OpContinuation, false, nil)...)
	stream = append(stream, frameBytes(ws.OpPing, true, []byte("b"))...)
	stream = append(stream, frameBytes(ws.OpContinuation, false, m[10:600])...)
	stream = append(stream, frameBytes(ws.OpPong, true, nil)...)
	stream = append(stream, frameBytes(ws.OpContinuation, true, m[600:])...)
	stream = append(stream, frameBytes(ws.OpBinary, true, codec.Append(nil, events[4]))...)
	stream = append(stream, frameBytes(ws.OpClose, true, ws.NewCloseFrameBody(4001, "expired"))...)

	for _, chunk := range []int{1, 2, 3, 5, 13, 64, 511, 512, 4096, 1 << 20} {
		cc := &chunkConn{src: stream, chunk: chunk}
		opt := Options{}
		opt.ensureDefaults()
		c := newConn(cc, codec, opt)
		var f wire.Frame
		for _, want := range events {
			if err := c.Read(&f); err != nil {
				t.Fatalf("chunk %d, seq %d: %v", chunk, want.Seq, err)
			}
			if f.Seq != want.Seq || !bytes.Equal(f.Data, want.Data) {
				t.Fatalf("chunk %d: got seq %d (%d bytes), want seq %d (%d bytes)", chunk, f.Seq, len(f.Data), want.Seq, len(want.Data))
			}
		}
		err := c.Read(&f)
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "expired" {
			t.Fatalf("chunk %d: final Read = %v", chunk, err)
		}
		// Two pongs and the close echo, all masked.
		var got []string
		r := bytes.NewReader(cc.written.Bytes())
		for r.Len() > 0 {
			fr, err := ws.ReadFrame(r)
			if err != nil || !fr.Header.Masked {
				t.Fatalf("chunk %d: written frame %v masked=%v", chunk, err, fr.Header.Masked)
			}
			fr = ws.UnmaskFrameInPlace(fr)
			got = append(got, fmt.Sprintf("%d:%x", fr.Header.OpCode, fr.Payload))
		}
		want := []string{"10:61", "10:62", "8:0fa1"} // pong "a", pong "b", close 4001
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("chunk %d: wrote %q, want %q", chunk, got, want)
		}
	}
}

func TestReadTruncated(t *testing.T) {
	full := frameBytes(ws.OpBinary, true, wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeEvent, Data: make([]byte, 40)}))
	for cut := 1; cut < len(full); cut++ {
		c := newConn(&chunkConn{src: full[:cut], chunk: 7}, wire.Msgpack, Options{ReadBufferSize: 512, MaxMessageSize: 1 << 20})
		var f wire.Frame
		if err := c.Read(&f); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d: %v, want ErrUnexpectedEOF", cut, err)
		}
	}
	c := newConn(&chunkConn{}, wire.Msgpack, Options{ReadBufferSize: 512, MaxMessageSize: 1 << 20})
	var f wire.Frame
	if err := c.Read(&f); err != io.EOF {
		t.Fatalf("clean end: %v, want io.EOF", err)
	}
}

// FuzzRead feeds arbitrary server bytes: Read must never panic, hang or
// return a frame after a sticky error.
func FuzzRead(f *testing.F) {
	f.Add(frameBytes(ws.OpBinary, true, wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeEvent, Seq: 1})), 3)
	f.Add(frameBytes(ws.OpBinary, false, []byte{0x81}), 1)
	f.Add(append(frameBytes(ws.OpPing, true, []byte("x")), frameBytes(ws.OpClose, true, []byte{3, 232})...), 2)
	f.Add([]byte{0x82, 0x7f, 0xff, 0, 0, 0, 0, 0, 0, 0}, 4)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		chunk = 1 + (chunk&0xff)%64
		c := newConn(&chunkConn{src: data, chunk: chunk}, wire.Msgpack, Options{ReadBufferSize: 256, MaxMessageSize: 1 << 16})
		var fr wire.Frame
		for range len(data) + 2 {
			err := c.Read(&fr)
			if err != nil && c.readErr != nil {
				if again := c.Read(&fr); again != err {
					t.Fatalf("sticky error changed: %v then %v", err, again)
				}
				return
			}
		}
		t.Fatalf("no sticky error after %d reads of %d bytes", len(data)+2, len(data))
	})
}
