package edge

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

// frameHeader is a parsed client frame header (RFC 6455 §5.2).
type frameHeader struct {
	fin    bool
	op     ws.OpCode
	length int // payload bytes
	size   int // header bytes
	mask   [4]byte
}

// parseHeader reads a frame header from buf without copying. It returns
// ok=false while buf is too short to hold the whole header, and a non-zero
// close code for any violation a server must refuse. The declared length is
// checked against max here, before any payload is waited for or buffered.
func parseHeader(buf []byte, max int) (h frameHeader, ok bool, closeCode uint16) {
	if len(buf) < 2 {
		return h, false, 0
	}
	b0, b1 := buf[0], buf[1]
	h.fin = b0&0x80 != 0
	h.op = ws.OpCode(b0 & 0x0f)
	if b0&0x70 != 0 { // RSV1-3 without a negotiated extension
		return h, false, wire.CloseProtocolError
	}
	if h.op.IsReserved() {
		return h, false, wire.CloseProtocolError
	}
	if b1&0x80 == 0 { // clients must mask (§5.1)
		return h, false, wire.CloseProtocolError
	}
	h.size = 2 + 4
	n := uint64(b1 & 0x7f)
	switch n {
	case 126:
		h.size += 2
	case 127:
		h.size += 8
	}
	if h.op.IsControl() && (n > 125 || !h.fin) { // §5.5
		return h, false, wire.CloseProtocolError
	}
	if len(buf) < h.size {
		return h, false, 0
	}
	switch n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(buf[2:4]))
	case 127:
		n = binary.BigEndian.Uint64(buf[2:10])
		if n>>63 != 0 { // the most significant bit must be 0
			return h, false, wire.CloseProtocolError
		}
	}
	if n > uint64(max) {
		return h, false, wire.CloseTooBig
	}
	h.length = int(n)
	copy(h.mask[:], buf[h.size-4:h.size])
	return h, true, 0
}

// appendFrameHeader appends a server (unmasked, FIN) frame header.
func appendFrameHeader(dst []byte, op ws.OpCode, n int) []byte {
	dst = append(dst, 0x80|byte(op))
	switch {
	case n <= 125:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// maxHeaderLen is the longest server frame header.
const maxHeaderLen = 10

// closePayload validates a client close frame body (§5.5.1, §7.4) and
// returns the code to echo back.
func closePayload(p []byte) uint16 {
	switch {
	case len(p) == 0:
		return wire.CloseNormal
	case len(p) == 1:
		return wire.CloseProtocolError
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(p))
	if !utf8.Valid(p[2:]) {
		return wire.CloseInvalidPayload
	}
	if ws.CheckCloseFrameData(code, "") != nil {
		return wire.CloseProtocolError
	}
	return wire.CloseNormal
}

// appendCloseFrame appends a complete close frame.
func appendCloseFrame(dst []byte, code uint16, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	dst = appendFrameHeader(dst, ws.OpClose, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, code)
	return append(dst, reason...)
}
