package wsclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

// Read reads the next data message and decodes it into f. Pings that arrive
// meanwhile are answered and pongs are dropped. A close frame from the
// server is answered and returned as *CloseError.
//
// Transport and protocol errors (including *CloseError) are sticky: every
// later Read returns the same error. A message that fails to decode
// (wire.ErrMalformed, wire.ErrTooLarge) or has the wrong type
// (ErrMessageType) is skipped and the connection stays usable.
func (c *Conn) Read(f *wire.Frame) error {
	for {
		if c.readErr != nil {
			return c.readErr
		}
		op, p, ok, err := c.next()
		if err != nil {
			return c.failRead(err)
		}
		if ok {
			return c.decode(op, p, f)
		}
		if err := c.readMore(); err != nil {
			return c.failRead(err)
		}
	}
}

// failRead makes err sticky, marking errors caused by our own Close.
func (c *Conn) failRead(err error) error {
	if err == io.EOF && (c.rend > c.rpos || c.assembling) {
		err = io.ErrUnexpectedEOF
	}
	if c.closed.Load() && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	c.readErr = err
	return err
}

// decode decodes a complete message; its errors are not sticky.
func (c *Conn) decode(op ws.OpCode, payload []byte, f *wire.Frame) error {
	want := ws.OpText
	if c.codec.Binary() {
		want = ws.OpBinary
	}
	if op != want {
		f.Reset()
		return fmt.Errorf("%w: got %s, %s wants %s", ErrMessageType, opName(op), c.codec.Subprotocol(), opName(want))
	}
	err := c.codec.Decode(payload, f) // copies: payload may be reused now
	if cap(c.msg) > keepMsgBuffer {
		c.msg = nil
	}
	if err != nil {
		return fmt.Errorf("wsclient: decode: %w", err)
	}
	return nil
}

func opName(op ws.OpCode) string {
	if op == ws.OpBinary {
		return "binary"
	}
	return "text"
}

// next takes the next complete data message out of the buffered input,
// answering control frames on the way. ok is false when more input is
// needed. The payload aliases rbuf or msg and is valid until input is read
// again.
func (c *Conn) next() (op ws.OpCode, payload []byte, ok bool, err error) {
	for {
		if c.copying {
			k := min(c.need, c.rend-c.rpos)
			c.msg = append(c.msg, c.rbuf[c.rpos:c.rpos+k]...)
			c.rpos += k
			c.need -= k
			if c.need > 0 {
				return 0, nil, false, nil
			}
			c.copying = false
			if !c.fin {
				continue // the next fragment follows
			}
			c.assembling = false
			return c.op, c.msg, true, nil
		}
		h, hsize, ok, err := c.peekHeader()
		if !ok || err != nil {
			return 0, nil, false, err
		}
		state := ws.StateClientSide
		if c.assembling {
			state = state.Set(ws.StateFragmented)
		}
		if err := ws.CheckHeader(h, state); err != nil {
			return 0, nil, false, c.failProtocol(err)
		}
		n := int(h.Length)
		if h.OpCode.IsControl() { // at most 125 bytes: fits in rbuf with its header
			if c.rend-c.rpos < hsize+n {
				return 0, nil, false, nil
			}
			p := c.rbuf[c.rpos+hsize : c.rpos+hsize+n]
			c.rpos += hsize + n
			if err := c.handleControl(h.OpCode, p); err != nil {
				return 0, nil, false, err
			}
			continue
		}
		if !c.assembling {
			c.msg = c.msg[:0]
		}
		if h.Length > c.maxMsg-int64(len(c.msg)) {
			return 0, nil, false, c.tooLarge()
		}
		if !c.assembling && h.Fin && hsize+n <= len(c.rbuf) {
			if c.rend-c.rpos < hsize+n {
				return 0, nil, false, nil
			}
			p := c.rbuf[c.rpos+hsize : c.rpos+hsize+n]
			c.rpos += hsize + n
			return h.OpCode, p, true, nil
		}
		if !c.assembling {
			c.assembling, c.op = true, h.OpCode
		}
		c.rpos += hsize
		c.copying, c.need, c.fin = true, n, h.Fin
	}
}

func (c *Conn) tooLarge() error {
	_ = c.SendClose(wire.CloseTooBig, "")
	return fmt.Errorf("%w: more than %d bytes", ErrMessageTooLarge, c.maxMsg)
}

// failProtocol answers a protocol violation with close 1002.
func (c *Conn) failProtocol(err error) error {
	_ = c.SendClose(wire.CloseProtocolError, "")
	return fmt.Errorf("%w: %w", ErrProtocol, err)
}

// peekHeader parses the frame header at rpos without consuming it; ok is
// false when it is not complete yet.
func (c *Conn) peekHeader() (h ws.Header, size int, ok bool, err error) {
	b := c.rbuf[c.rpos:c.rend]
	if len(b) < 2 {
		return h, 0, false, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	size = 2
	l := b[1] & 0x7f
	switch l {
	case 126:
		size += 2
	case 127:
		size += 8
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		size += 4
	}
	if len(b) < size {
		return h, 0, false, nil
	}
	switch l {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		v := binary.BigEndian.Uint64(b[2:])
		if v>>63 != 0 {
			return h, 0, false, c.failProtocol(ws.ErrHeaderLengthMSB)
		}
		h.Length = int64(v)
	}
	if h.Masked {
		copy(h.Mask[:], b[size-4:size])
	}
	return h, size, true, nil
}

// handleControl reacts to a control frame.
func (c *Conn) handleControl(op ws.OpCode, p []byte) error {
	switch op {
	case ws.OpPing:
		return c.writeControl(ws.OpPong, p)
	case ws.OpClose:
		e := &CloseError{Code: CloseNoStatus}
		switch {
		case len(p) == 1:
			return c.failProtocol(errors.New("close frame with 1-byte payload"))
		case len(p) >= 2:
			e.Code = binary.BigEndian.Uint16(p)
			e.Reason = string(p[2:])
			_ = c.writeControl(ws.OpClose, p[:2])
		default:
			_ = c.writeControl(ws.OpClose, nil)
		}
		return e
	}
	return nil // pong: we send no pings, so nothing to match
}

// readBuf returns where the next socket read should go: straight into msg
// while a payload is being copied and nothing is buffered, else the free
// tail of rbuf after moving unparsed bytes to its front.
func (c *Conn) readBuf() (buf []byte, direct bool) {
	if c.copying && c.rpos == c.rend {
		c.rpos, c.rend = 0, 0
		if len(c.msg) == cap(c.msg) {
			// Grow as bytes arrive, never far ahead of them.
			grow := min(c.need, max(4096, len(c.msg)))
			c.msg = append(c.msg, make([]byte, grow)...)[:len(c.msg)]
		}
		return c.msg[len(c.msg):min(cap(c.msg), len(c.msg)+c.need)], true
	}
	if c.rpos > 0 {
		c.rend = copy(c.rbuf, c.rbuf[c.rpos:c.rend])
		c.rpos = 0
	}
	return c.rbuf[c.rend:], false
}

// consumed accounts for k bytes read into the buffer readBuf returned.
func (c *Conn) consumed(k int, direct bool) {
	if direct {
		c.msg = c.msg[:len(c.msg)+k]
		c.need -= k
		return
	}
	c.rend += k
}

// readMore reads once from the socket, blocking until input arrives.
func (c *Conn) readMore() error {
	buf, direct := c.readBuf()
	k, err := c.nc.Read(buf)
	c.consumed(k, direct)
	if k > 0 {
		return nil // an error comes back on the next read
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}
