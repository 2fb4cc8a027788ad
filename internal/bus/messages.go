package bus

import (
	"fmt"
)

// Request is what an edge sends to core for a client frame: who sent it and
// the frame itself, re-encoded with wire.Msgpack. Core answers with a wire
// frame (ack, error, messages) encoded with wire.Msgpack; the edge sets the
// client's request id on it and writes it in the client's codec. Carrying
// wire frames keeps one definition of every field: a field added to the
// protocol travels the bus without a bus change.
type Request struct {
	User     string // "u": authenticated user id
	Session  string // "sid": session id of the connection
	Received int64  // "rt": when the edge received the frame, Unix nanoseconds
	Frame    []byte // "fr": the client's frame, wire.Msgpack
	// Trace is set on sampled messages only ("tc", 32 bytes of bin;
	// absent otherwise, and skipped by decoders that predate it).
	Trace TraceContext
	// Home is set by core on the frames it sends a room's SFU node other
	// than the room's home node ("hm", absent otherwise, skipped by older
	// decoders): that node relays the room's media through Home
	// (calls.sfu_room_spread, sfu/README.md "Cascading").
	Home string
}

// AppendMsgpack appends the msgpack encoding of r to dst.
func (r *Request) AppendMsgpack(dst []byte) []byte {
	n := nonZero(r.User != "", r.Session != "", r.Received != 0, len(r.Frame) != 0, r.Trace.Sampled(), r.Home != "")
	dst = appendMapHeader(dst, n)
	if r.User != "" {
		dst = appendStr(append(dst, 0xa1, 'u'), r.User)
	}
	if r.Session != "" {
		dst = appendStr(append(dst, 0xa3, 's', 'i', 'd'), r.Session)
	}
	if r.Received != 0 {
		dst = appendInt(append(dst, 0xa2, 'r', 't'), r.Received)
	}
	if len(r.Frame) != 0 {
		dst = appendBin(append(dst, 0xa2, 'f', 'r'), r.Frame)
	}
	if r.Trace.Sampled() {
		dst = r.Trace.appendTrace(append(dst, 0xa2, 't', 'c', 0xc4, traceLen))
	}
	if r.Home != "" {
		dst = appendStr(append(dst, 0xa2, 'h', 'm'), r.Home)
	}
	return dst
}

// DecodeMsgpack decodes data into r. Frame is copied into r's capacity.
func (r *Request) DecodeMsgpack(data []byte) error {
	*r = Request{Frame: r.Frame[:0]}
	err := decodeMap(data, func(k string, rd *reader) (err error) {
		switch k {
		case "u":
			r.User, err = rd.str(maxStrLen)
		case "sid":
			r.Session, err = rd.str(maxStrLen)
		case "rt":
			r.Received, err = rd.int()
		case "fr":
			r.Frame, err = rd.bin(r.Frame[:0], maxDataLen)
		case "hm":
			r.Home, err = rd.str(maxStrLen)
		case "tc":
			var p []byte
			if p, err = rd.bytesView(true, traceLen); err == nil && p != nil {
				err = r.Trace.setTrace(p)
			}
		default:
			err = rd.skip()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("bus: decode request: %w", err)
	}
	return nil
}

// decodeMap walks a msgpack map, handing each key to field, which reads
// (or skips) its value; the map must be the whole input.
func decodeMap(data []byte, field func(key string, rd *reader) error) error {
	rd := reader{b: data}
	n, err := rd.mapLen()
	for i := 0; i < n && err == nil; i++ {
		var k []byte
		if k, err = rd.key(); err == nil {
			err = field(string(k), &rd)
		}
	}
	if err == nil {
		err = rd.end()
	}
	return err
}

func nonZero(present ...bool) int {
	n := 0
	for _, p := range present {
		if p {
			n++
		}
	}
	return n
}
