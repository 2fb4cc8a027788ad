package edge

import (
	"bytes"
	"context"
	"unicode/utf8"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/wire"
)

type connKey struct{}

// onRequest is netpoll's callback when bytes arrive. It consumes everything
// netpoll has buffered: complete requests and frames are handled at once, an
// incomplete tail is copied into c.in (bounded by the header and message
// limits) so that no goroutine waits for a slow or silent peer.
func (s *Server) onRequest(ctx context.Context, nc netpoll.Connection) error {
	c, _ := ctx.Value(connKey{}).(*conn)
	r := nc.Reader()
	data, err := r.Next(r.Len())
	if err != nil || c == nil {
		return err
	}
	defer r.Release()
	c.lastRecv.Store(nowNano())
	s.metrics.bytesIn.Add(float64(len(data)))
	if c.isClosed() {
		return nil // discard what arrives after we decided to close
	}
	buf := data
	if c.in != nil {
		c.in.B = append(c.in.B, data...)
		buf = c.in.B
	}
	rest := buf[c.process(buf):]
	switch {
	case len(rest) == 0 || c.isClosed():
		if c.in != nil {
			bytebufferpool.Put(c.in)
			c.in = nil
		}
	case c.in == nil:
		c.in = bytebufferpool.Get()
		c.in.B = append(c.in.B[:0], rest...)
	default:
		c.in.B = c.in.B[:copy(c.in.B, rest)]
	}
	return nil
}

var headEnd = []byte("\r\n\r\n")

// process handles the complete requests or frames at the start of buf and
// returns how many bytes it consumed.
func (c *conn) process(buf []byte) (consumed int) {
	cfg := &c.srv.cfg
	for !c.isClosed() {
		if c.streaming.Load() {
			return len(buf) // an event stream: nothing more is read
		}
		if c.state.Load() == stateHTTP {
			i := bytes.Index(buf[consumed:], headEnd)
			if i < 0 {
				if len(buf)-consumed > cfg.MaxHeaderBytes {
					c.srv.metrics.upgrade("header_too_large")
					c.writeAndClose(problem(431, "request header too large", ""))
				}
				return consumed
			}
			n, complete := c.serveHTTP(buf[consumed:], i+len(headEnd))
			if !complete {
				if len(buf)-consumed > cfg.MaxHeaderBytes+cfg.MaxBodyBytes {
					c.writeAndClose(problem(413, "request too large", ""))
				}
				return consumed
			}
			consumed += n
			continue
		}
		limit := cfg.MaxMessageBytes
		if c.msg != nil {
			limit -= len(c.msg.B)
		}
		h, ok, code := parseHeader(buf[consumed:], limit)
		if code != 0 {
			c.srv.metrics.protocolErrors.Inc()
			c.closeWith(code, closeReasons[code])
			return consumed
		}
		if !ok || len(buf)-consumed < h.size+h.length {
			return consumed
		}
		payload := buf[consumed+h.size : consumed+h.size+h.length]
		consumed += h.size + h.length
		ws.Cipher(payload, h.mask, 0)
		c.handleFrame(h, payload)
	}
	return consumed
}

var closeReasons = map[uint16]string{
	wire.CloseProtocolError:   "protocol error",
	wire.CloseTooBig:          "message too big",
	wire.CloseInvalidPayload:  "invalid UTF-8",
	wire.CloseUnsupportedData: "wrong frame kind for subprotocol",
}

// handleFrame handles one unmasked WebSocket frame.
func (c *conn) handleFrame(h frameHeader, payload []byte) {
	switch h.op {
	case ws.OpClose:
		c.closeWith(closePayload(payload), "")
		return
	case ws.OpPong:
		return
	}
	if !c.allowFrame() {
		return
	}
	switch h.op {
	case ws.OpPing:
		buf := bytebufferpool.Get()
		buf.B = append(appendFrameHeader(buf.B[:0], ws.OpPong, len(payload)), payload...)
		c.write(buf.B)
		bytebufferpool.Put(buf)
	case ws.OpContinuation:
		if c.msg == nil {
			c.closeWith(wire.CloseProtocolError, "continuation without a message")
			return
		}
		c.msg.B = append(c.msg.B, payload...)
		if h.fin {
			c.receive(c.msgOp, c.msg.B)
			bytebufferpool.Put(c.msg)
			c.msg = nil
		}
	default: // text or binary
		if c.msg != nil {
			c.closeWith(wire.CloseProtocolError, "new message inside a fragmented one")
			return
		}
		if h.fin {
			c.receive(h.op, payload)
			return
		}
		c.msg = bytebufferpool.Get()
		c.msg.B = append(c.msg.B[:0], payload...)
		c.msgOp = h.op
	}
}

// allowFrame applies the per-connection inbound frame rate (pings included).
func (c *conn) allowFrame() bool {
	now := nowNano()
	if c.frames.Allow(now, c.srv.cfg.FrameRate, c.srv.cfg.FrameBurst) {
		return true
	}
	c.violation(now, 0)
	return false
}

// violation records a rate-limit breach, answers it with an error frame
// when it concerns a request, and closes the connection on repeated abuse.
func (c *conn) violation(now int64, id uint32) {
	c.srv.metrics.rateLimited.Inc()
	window := int64(c.srv.cfg.AbuseWindow)
	if now-c.violFrom > window {
		c.violFrom, c.violations = now, 0
	}
	c.violations++
	if int(c.violations) > c.srv.cfg.AbuseLimit {
		c.closeWith(wire.CloseRateLimit, "rate limit abuse")
		return
	}
	if id != 0 && c.state.Load() == stateConnected {
		c.writeError(id, wire.CodeRateLimited, "rate limited")
	}
}

// receive checks that a complete message suits the subprotocol and hands
// the decoded envelope to the session.
func (c *conn) receive(op ws.OpCode, data []byte) {
	c.srv.metrics.messagesIn.Inc()
	if (op == ws.OpBinary) != c.codec.Binary() {
		c.closeWith(wire.CloseUnsupportedData, closeReasons[wire.CloseUnsupportedData])
		return
	}
	if op == ws.OpText && !utf8.Valid(data) {
		c.closeWith(wire.CloseInvalidPayload, closeReasons[wire.CloseInvalidPayload])
		return
	}
	f := framePool.Get().(*wire.Frame)
	defer framePool.Put(f)
	if err := c.codec.Decode(data, f); err != nil {
		c.srv.metrics.framesInvalid.Inc()
		c.writeError(0, wire.CodeBadFrame, "undecodable envelope")
		c.closeWith(wire.CloseBadFrame, "undecodable envelope")
		return
	}
	c.srv.metrics.frameIn(f.Type)
	c.handleEnvelope(f)
}
