package edge

import (
	"sync"
	"sync/atomic"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"github.com/salamhq/salam/internal/bucket"
	"github.com/salamhq/salam/wire"
)

// Connection states, in order. A connection only moves forward.
const (
	stateHTTP      uint32 = iota // reading an HTTP request (upgrade or plain HTTP)
	stateOpen                    // WebSocket open, waiting for the connect frame
	stateConnected               // session established
)

// conn is one client connection. It is kept small: an idle connection holds
// this struct, netpoll's buffers and nothing else (no goroutine, no buffer).
//
// The read side (in, msg, buckets, subs, session fields) is owned by the
// netpoll OnRequest callback, which netpoll never runs twice at once for a
// connection, nor concurrently with the close callback. The write side is
// guarded by mu.
type conn struct {
	srv *Server
	nc  netpoll.Connection
	fd  int

	state    atomic.Uint32
	accepted atomic.Int64 // unix nanos of accept, or of the last plain HTTP response (keep-alive)
	opened   int64        // unix nanos of the upgrade
	expires  int64        // unix nanos when the token expires: close 4001
	lastRecv atomic.Int64 // unix nanos of the last byte received
	lastPing int64        // unix nanos of the last server ping; owned by the sweeper

	// read side
	in         *bytebufferpool.ByteBuffer // unparsed input; nil when empty
	msg        *bytebufferpool.ByteBuffer // fragments of a message; nil when none
	msgOp      ws.OpCode
	codec      wire.Codec
	userID     string
	admin      bool       // the token has the admin role: its publishes are always traced (the console's)
	user       *userState // shared publish budget, acquired at the first publish
	session    string
	frames     bucket.Bucket
	publishes  bucket.Bucket
	queries    bucket.Bucket // presence queries
	violations uint16
	violFrom   int64

	// write side
	mu         sync.Mutex
	queue      [][]byte // frames waiting for a blocked socket; nil when idle
	queued     int      // bytes in queue
	writing    bool     // a flush task owns the socket
	closed     bool     // no more writes
	closeAfter bool     // close the socket once the queue is flushed
	closeCode  uint16
	subs       map[string]*subscription // channels subscribed; nil when none
	calls      []string                 // calls this connection sent frames about, newest last (at most maxTrackedCalls)
	// cancelStream ends the handler of an event stream (stream.go) when
	// the connection closes; nil for every other connection.
	cancelStream func()
	streaming    atomic.Bool // serving an event stream: no more requests, no handshake timeout
}

// subscription is a connection's state for one channel, guarded by conn.mu.
type subscription struct {
	replayed uint64         // highest sequence the resume replay covered: live events up to it are repeats
	pending  []pendingEvent // live events held while the subscription is being set up (access check, resume)
	ready    bool           // set up: live events are written as they come
}

type pendingEvent struct {
	seq   uint64
	frame []byte // a private copy
}

// write sends one complete WebSocket frame. It never blocks and never retains
// b: the common case is one non-blocking write(2); when the socket is full the
// rest is copied to the queue and a pool task waits for the socket. A queue
// over the configured bound closes the connection as a slow consumer.
func (c *conn) write(b []byte) {
	c.mu.Lock()
	after := c.writeLocked(b)
	c.mu.Unlock()
	c.finish(after)
}

// What writeLocked leaves to do once mu is released.
type afterWrite uint8

const (
	nothing afterWrite = iota
	closeSocket
	startFlush
)

func (c *conn) writeLocked(b []byte) afterWrite {
	if c.closed {
		return nothing
	}
	if c.writing {
		if !c.enqueueLocked(b) {
			return closeSocket
		}
		return nothing
	}
	n, err := unix.Write(c.fd, b)
	if n == len(b) {
		c.srv.metrics.bytesOut.Add(float64(n))
		return nothing
	}
	if err != nil && err != unix.EAGAIN {
		c.closed = true
		return closeSocket
	}
	n = max(n, 0)
	c.srv.metrics.bytesOut.Add(float64(n))
	c.writing = true
	c.enqueueLocked(b[n:]) // a single frame always fits: OutboundQueue ≥ MaxMessageBytes
	return startFlush
}

// finish does what writeLocked asked for, outside mu.
func (c *conn) finish(a afterWrite) {
	switch a {
	case closeSocket:
		c.nc.Close()
	case startFlush:
		c.srv.submitWrite(c.flush)
	}
}

// enqueueLocked copies b to the queue, or reports false and marks the
// connection closed as a slow consumer when the queue would overflow. The
// caller then closes the socket after releasing mu (netpoll may run the
// close callback, which takes mu, synchronously).
func (c *conn) enqueueLocked(b []byte) bool {
	if c.queued+len(b) > c.srv.cfg.OutboundQueue {
		c.closed = true
		c.closeCode = wire.CloseSlowConsumer
		c.srv.metrics.slowConsumers.Inc()
		return false
	}
	c.queue = append(c.queue, append([]byte(nil), b...))
	c.queued += len(b)
	return true
}

// flush runs on the write pool while the socket is full: it hands queued
// frames to netpoll, whose Flush waits for the socket up to WriteTimeout.
func (c *conn) flush() {
	w := c.nc.Writer()
	for {
		c.mu.Lock()
		q := c.queue
		c.queue, c.queued = nil, 0
		if len(q) == 0 {
			c.writing = false
			closeNow := c.closeAfter
			c.mu.Unlock()
			if closeNow {
				c.nc.Close()
			}
			return
		}
		c.mu.Unlock()
		n := 0
		for _, b := range q {
			w.WriteBinary(b)
			n += len(b)
		}
		if err := w.Flush(); err != nil {
			c.mu.Lock()
			if !c.closed {
				c.closed = true
				c.closeCode = wire.CloseSlowConsumer
				c.srv.metrics.slowConsumers.Inc()
			}
			c.mu.Unlock()
			c.nc.Close()
			return
		}
		c.srv.metrics.bytesOut.Add(float64(n))
	}
}

// writeFrame encodes f with the connection's codec into a pooled buffer and writes it.
func (c *conn) writeFrame(f *wire.Frame) {
	c.mu.Lock()
	after := c.writeFrameLocked(f)
	c.mu.Unlock()
	c.finish(after)
}

func (c *conn) writeFrameLocked(f *wire.Frame) afterWrite {
	buf := bytebufferpool.Get()
	var frame []byte
	buf.B, frame = encodeFrame(buf.B[:0], c.codec, f)
	after := c.writeLocked(frame)
	bytebufferpool.Put(buf)
	c.srv.metrics.frameOut(f.Type)
	return after
}

// encodeFrame encodes f after maxHeaderLen reserved bytes of buf, then puts
// the WebSocket header right in front of it, so the payload is encoded once
// and never moved. It returns the grown buffer and the frame inside it.
func encodeFrame(buf []byte, codec wire.Codec, f *wire.Frame) (grown, frame []byte) {
	var reserved [maxHeaderLen]byte
	buf = append(buf[:0], reserved[:]...)
	buf = codec.Append(buf, f)
	op := ws.OpText
	if codec.Binary() {
		op = ws.OpBinary
	}
	h := appendFrameHeader(reserved[:0], op, len(buf)-maxHeaderLen)
	start := maxHeaderLen - len(h)
	copy(buf[start:], h)
	return buf, buf[start:]
}

// closeWith sends a close frame with code and closes the socket once it is
// written. Safe to call from any goroutine, any number of times.
func (c *conn) closeWith(code uint16, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.closeCode = code
	var buf [maxHeaderLen + 125]byte
	frame := appendCloseFrame(buf[:0], code, reason)
	if c.writing {
		c.queue = append(c.queue, append([]byte(nil), frame...))
		c.closeAfter = true
		c.mu.Unlock()
		return
	}
	unix.Write(c.fd, frame) // best effort: the peer may be gone
	c.mu.Unlock()
	c.nc.Close()
}

// writeAndClose writes raw bytes (an HTTP response) and closes the connection.
func (c *conn) writeAndClose(b []byte) {
	c.write(b)
	c.mu.Lock()
	if c.writing {
		c.closed, c.closeAfter = true, true
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.nc.Close()
}

// abort closes the socket without a goodbye (no WebSocket yet, or a peer
// that cannot read one).
func (c *conn) abort(code uint16) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.closeCode = true, code
	c.mu.Unlock()
	c.nc.Close()
}

// goAway closes a WebSocket with code, or a plain HTTP connection silently.
func (c *conn) goAway(code uint16, reason string) {
	if c.state.Load() == stateHTTP {
		c.abort(0)
		return
	}
	c.closeWith(code, reason)
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// deliver writes a channel event unless the subscription is still being set
// up (the event is held) or the resume replay already carried it. Live
// events are otherwise written as they come, even out of sequence order
// (several core processes publish one channel's events): clients order by
// sequence.
func (c *conn) deliver(channel string, seq uint64, frame []byte) {
	c.mu.Lock()
	sub := c.subs[channel]
	var after afterWrite
	switch {
	case sub == nil: // unsubscribed meanwhile
	case !sub.ready:
		sub.pending = append(sub.pending, pendingEvent{seq: seq, frame: append([]byte(nil), frame...)})
	case seq != 0 && seq <= sub.replayed:
	default:
		after = c.writeLocked(frame)
	}
	c.mu.Unlock()
	c.finish(after)
}
