package bus

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/nats-io/nats.go"
)

// TraceContext carries a sampled message's trace between processes: the
// W3C trace and parent span ids (see internal/observe) and when the sender
// handed it to NATS, so the receiver can time the bus hop. Only sampled
// messages carry one; the zero value means "not traced".
type TraceContext struct {
	TraceID [16]byte
	SpanID  [8]byte
	Sent    int64 // Unix nanoseconds
}

// traceLen is the encoded size: trace id, span id, sent.
const traceLen = 16 + 8 + 8

// Sampled reports whether tc carries a trace.
func (tc *TraceContext) Sampled() bool { return tc.TraceID != [16]byte{} }

// appendTrace appends tc's fixed-size encoding.
func (tc *TraceContext) appendTrace(dst []byte) []byte {
	dst = append(dst, tc.TraceID[:]...)
	dst = append(dst, tc.SpanID[:]...)
	return binary.BigEndian.AppendUint64(dst, uint64(tc.Sent))
}

// setTrace decodes a fixed-size encoding; other lengths are malformed.
func (tc *TraceContext) setTrace(p []byte) error {
	if len(p) != traceLen {
		return fmt.Errorf("%w: trace context of %d bytes, want %d", ErrMalformed, len(p), traceLen)
	}
	copy(tc.TraceID[:], p[:16])
	copy(tc.SpanID[:], p[16:24])
	tc.Sent = int64(binary.BigEndian.Uint64(p[24:]))
	return nil
}

// TraceHeader is the NATS header that carries a TraceContext on messages
// whose body is a client wire frame (channel events), as hex.
const TraceHeader = "Salam-Trace"

// Header returns a NATS header carrying tc.
func (tc *TraceContext) Header() nats.Header {
	return nats.Header{TraceHeader: []string{hex.EncodeToString(tc.appendTrace(make([]byte, 0, traceLen)))}}
}

// TraceFromHeader returns the TraceContext of a message's header, and false
// when it has none or a malformed one. A nil header costs nothing.
func TraceFromHeader(h nats.Header) (TraceContext, bool) {
	var tc TraceContext
	if h == nil {
		return tc, false
	}
	v := h.Get(TraceHeader)
	if len(v) != 2*traceLen {
		return tc, false
	}
	var raw [traceLen]byte
	if _, err := hex.Decode(raw[:], []byte(v)); err != nil || tc.setTrace(raw[:]) != nil {
		return TraceContext{}, false
	}
	return tc, tc.Sampled()
}
