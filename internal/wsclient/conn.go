package wsclient

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

// Conn is one client WebSocket speaking wire protocol v1. See the package
// documentation for which methods may run concurrently.
type Conn struct {
	nc     net.Conn
	codec  wire.Codec
	maxMsg int64
	nextID atomic.Uint32
	closed atomic.Bool

	// Read side, owned by the single reading goroutine (or Poller).
	rbuf       []byte    // fixed size; rbuf[rpos:rend] is received, unparsed input
	rpos, rend int       // invariant between reads: rend-rpos < len(rbuf)
	msg        []byte    // reassembly of fragmented or larger-than-rbuf messages
	need       int       // payload bytes of the current frame still to append to msg
	copying    bool      // a frame's payload is being appended to msg
	assembling bool      // a message is being assembled in msg (also: fragmented)
	fin        bool      // the frame being copied ends its message
	op         ws.OpCode // opcode of the message being assembled
	readErr    error     // sticky transport or protocol error

	// Write side.
	wmu       sync.Mutex
	closeSent bool // guarded by wmu: after a close frame only nothing may follow

	// Request/Dispatch routing.
	pmu         sync.Mutex
	pending     map[uint32]chan reply // guarded by pmu; allocated by the first Request
	dispatchErr error                 // guarded by pmu: why Dispatch returned
}

const (
	maxClientHeader = 14          // 2 + 8 (64-bit length) + 4 (mask)
	keepMsgBuffer   = 4 << 10     // a larger reassembly buffer is dropped after use
	keepWriteBuffer = 64 << 10    // a larger encode buffer is not pooled
	closeWriteLimit = time.Second // bound on writing a close frame in Close
)

// aLongTimeAgo is a non-zero time in the past, used to interrupt blocked I/O.
var (
	aLongTimeAgo = time.Unix(1, 0)
	noDeadline   time.Time
)

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func newConn(nc net.Conn, codec wire.Codec, opt Options) *Conn {
	return &Conn{
		nc:     nc,
		codec:  codec,
		maxMsg: opt.MaxMessageSize,
		rbuf:   make([]byte, opt.ReadBufferSize),
	}
}

// Subprotocol returns the negotiated subprotocol.
func (c *Conn) Subprotocol() string { return c.codec.Subprotocol() }

// Codec returns the codec of the negotiated subprotocol.
func (c *Conn) Codec() wire.Codec { return c.codec }

// NetConn returns the underlying connection, for tests that want to write
// raw bytes. Writing to it concurrently with Send garbles the stream.
func (c *Conn) NetConn() net.Conn { return c.nc }

// NextID returns a fresh request ID, never 0. IDs are per connection.
func (c *Conn) NextID() uint32 {
	for {
		if id := c.nextID.Add(1); id != 0 {
			return id
		}
	}
}

// Send encodes f with the negotiated codec and writes it as one masked
// message. It is safe for concurrent use.
func (c *Conn) Send(f *wire.Frame) error {
	bp := writeBufs.Get().(*[]byte)
	b := append((*bp)[:0], make([]byte, maxClientHeader)...)
	b = c.codec.Append(b, f)
	op := ws.OpText
	if c.codec.Binary() {
		op = ws.OpBinary
	}
	err := c.writeMessage(op, b, maxClientHeader)
	if cap(b) <= keepWriteBuffer {
		*bp = b[:0]
		writeBufs.Put(bp)
	}
	return err
}

// writeMessage writes the payload b[off:] as one masked frame of opcode op;
// b[:off] is scratch space for the header (off >= maxClientHeader).
func (c *Conn) writeMessage(op ws.OpCode, b []byte, off int) error {
	payload := b[off:]
	h := ws.Header{Fin: true, OpCode: op, Masked: true, Length: int64(len(payload)), Mask: ws.NewMask()}
	start := off - ws.HeaderSize(h)
	putHeader(b[start:off], h)
	ws.Cipher(payload, h.Mask, 0)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return ErrClosed
	}
	_, err := c.nc.Write(b[start:])
	return err
}

// putHeader writes h into dst, which is exactly ws.HeaderSize(h) long.
func putHeader(dst []byte, h ws.Header) {
	dst[0] = byte(h.OpCode)
	if h.Fin {
		dst[0] |= 0x80
	}
	n := 2
	switch {
	case h.Length < 126:
		dst[1] = byte(h.Length)
	case h.Length <= 0xffff:
		dst[1] = 126
		binary.BigEndian.PutUint16(dst[2:], uint16(h.Length))
		n = 4
	default:
		dst[1] = 127
		binary.BigEndian.PutUint64(dst[2:], uint64(h.Length))
		n = 10
	}
	if h.Masked {
		dst[1] |= 0x80
		copy(dst[n:], h.Mask[:])
	}
}

// writeControl writes a masked control frame (payload at most 125 bytes).
// Nothing is written after a close frame; a second close is a no-op.
func (c *Conn) writeControl(op ws.OpCode, payload []byte) error {
	var buf [maxClientHeader + ws.MaxControlFramePayloadSize]byte
	n := copy(buf[maxClientHeader:], payload)
	b := buf[:maxClientHeader+n]
	h := ws.Header{Fin: true, OpCode: op, Masked: true, Length: int64(n), Mask: ws.NewMask()}
	start := maxClientHeader - ws.HeaderSize(h)
	putHeader(b[start:maxClientHeader], h)
	ws.Cipher(b[maxClientHeader:], h.Mask, 0)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		if op == ws.OpClose {
			return nil // the close handshake is already under way
		}
		return ErrClosed
	}
	c.closeSent = op == ws.OpClose
	_, err := c.nc.Write(b[start:])
	return err
}

// SendClose sends a close frame with code and reason (truncated to fit) and
// leaves the connection open, so that the server's answering close frame
// can still be read. Later Sends fail with ErrClosed.
func (c *Conn) SendClose(code uint16, reason string) error {
	var p [ws.MaxControlFramePayloadSize]byte
	binary.BigEndian.PutUint16(p[:], code)
	n := 2 + copy(p[2:], reason)
	return c.writeControl(ws.OpClose, p[:n])
}

// Close sends a normal close frame (unless one was sent already), waiting at
// most a second for the write, then closes the socket. It is idempotent.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(closeWriteLimit))
	_ = c.SendClose(wire.CloseNormal, "")
	return c.nc.Close()
}
