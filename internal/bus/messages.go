package bus

import (
	"fmt"
	"math"

	"github.com/salamhq/salam/wire"
)

// Publish is the request an edge sends on PublishSubject(Channel) when a
// client publishes; the reply is a PublishReply.
type Publish struct {
	Channel  string // "c": target channel, valid per wire.ValidChannel
	From     string // "f": authenticated user id of the publisher
	MsgID    string // "m": client message id, the idempotency key (may be empty)
	Session  string // "sid": session id of the publishing connection
	Data     []byte // "d": opaque payload
	Received int64  // "rt": when the edge received the frame, Unix nanoseconds
}

// AppendMsgpack appends the msgpack encoding of p to dst.
func (p *Publish) AppendMsgpack(dst []byte) []byte {
	n := nonZero(p.Channel != "", p.From != "", p.MsgID != "", p.Session != "", len(p.Data) != 0, p.Received != 0)
	dst = appendMapHeader(dst, n)
	if p.Channel != "" {
		dst = appendStr(append(dst, 0xa1, 'c'), p.Channel)
	}
	if p.From != "" {
		dst = appendStr(append(dst, 0xa1, 'f'), p.From)
	}
	if p.MsgID != "" {
		dst = appendStr(append(dst, 0xa1, 'm'), p.MsgID)
	}
	if p.Session != "" {
		dst = appendStr(append(dst, 0xa3, 's', 'i', 'd'), p.Session)
	}
	if len(p.Data) != 0 {
		dst = appendBin(append(dst, 0xa1, 'd'), p.Data)
	}
	if p.Received != 0 {
		dst = appendInt(append(dst, 0xa2, 'r', 't'), p.Received)
	}
	return dst
}

// DecodeMsgpack decodes data into p, overwriting every field. Strings are
// fresh copies; Data is copied into p.Data's capacity and never aliases
// data. On error p's content is unspecified.
func (p *Publish) DecodeMsgpack(data []byte) error {
	*p = Publish{Data: p.Data[:0]}
	r := reader{b: data}
	n, err := r.mapLen()
	for i := 0; i < n && err == nil; i++ {
		var k []byte
		if k, err = r.key(); err != nil {
			break
		}
		switch string(k) {
		case "c":
			p.Channel, err = r.str(maxStrLen)
		case "f":
			p.From, err = r.str(maxStrLen)
		case "m":
			p.MsgID, err = r.str(maxStrLen)
		case "sid":
			p.Session, err = r.str(maxStrLen)
		case "d":
			p.Data, err = r.bin(p.Data[:0], maxDataLen)
		case "rt":
			p.Received, err = r.int()
		default:
			err = r.skip()
		}
	}
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return fmt.Errorf("bus: decode publish: %w", err)
	}
	return nil
}

// PublishReply is core's answer to a Publish. Code 0 means the publish was
// accepted and its Event is on the bus; otherwise Code and Reason are what
// the client receives in an error frame.
type PublishReply struct {
	Seq    uint64    // "s": sequence assigned to the message in its channel
	Time   int64     // "ts": server time of the message, Unix milliseconds
	Code   wire.Code // "e": 0 = ok
	Reason string    // "r": human-readable text for a non-zero Code
}

// AppendMsgpack appends the msgpack encoding of r to dst.
func (r *PublishReply) AppendMsgpack(dst []byte) []byte {
	dst = appendMapHeader(dst, nonZero(r.Seq != 0, r.Time != 0, r.Code != 0, r.Reason != ""))
	if r.Seq != 0 {
		dst = appendUint(append(dst, 0xa1, 's'), r.Seq)
	}
	if r.Time != 0 {
		dst = appendInt(append(dst, 0xa2, 't', 's'), r.Time)
	}
	if r.Code != 0 {
		dst = appendUint(append(dst, 0xa1, 'e'), uint64(r.Code))
	}
	if r.Reason != "" {
		dst = appendStr(append(dst, 0xa1, 'r'), r.Reason)
	}
	return dst
}

// DecodeMsgpack decodes data into r, overwriting every field. Strings are
// fresh copies. On error r's content is unspecified.
func (r *PublishReply) DecodeMsgpack(data []byte) error {
	*r = PublishReply{}
	rd := reader{b: data}
	n, err := rd.mapLen()
	for i := 0; i < n && err == nil; i++ {
		var k []byte
		if k, err = rd.key(); err != nil {
			break
		}
		switch string(k) {
		case "s":
			r.Seq, err = rd.uint()
		case "ts":
			r.Time, err = rd.int()
		case "e":
			var c uint64
			if c, err = rd.uint(); err == nil && c > math.MaxUint16 {
				err = fmt.Errorf("%w: code %d", ErrMalformed, c)
			}
			r.Code = wire.Code(c)
		case "r":
			r.Reason, err = rd.str(maxStrLen)
		default:
			err = rd.skip()
		}
	}
	if err == nil {
		err = rd.end()
	}
	if err != nil {
		return fmt.Errorf("bus: decode publish reply: %w", err)
	}
	return nil
}

// Event is a message core publishes on EventSubject(Channel) after it
// accepted a Publish; every edge with local subscribers of Channel fans it
// out to them.
type Event struct {
	Channel string // "c"
	Seq     uint64 // "s": per-channel sequence, strictly increasing
	From    string // "f": user id of the publisher
	MsgID   string // "m": client message id of the publish
	Time    int64  // "ts": server time, Unix milliseconds
	Data    []byte // "d": opaque payload
}

// AppendMsgpack appends the msgpack encoding of e to dst.
func (e *Event) AppendMsgpack(dst []byte) []byte {
	n := nonZero(e.Channel != "", e.Seq != 0, e.From != "", e.MsgID != "", e.Time != 0, len(e.Data) != 0)
	dst = appendMapHeader(dst, n)
	if e.Channel != "" {
		dst = appendStr(append(dst, 0xa1, 'c'), e.Channel)
	}
	if e.Seq != 0 {
		dst = appendUint(append(dst, 0xa1, 's'), e.Seq)
	}
	if e.From != "" {
		dst = appendStr(append(dst, 0xa1, 'f'), e.From)
	}
	if e.MsgID != "" {
		dst = appendStr(append(dst, 0xa1, 'm'), e.MsgID)
	}
	if e.Time != 0 {
		dst = appendInt(append(dst, 0xa2, 't', 's'), e.Time)
	}
	if len(e.Data) != 0 {
		dst = appendBin(append(dst, 0xa1, 'd'), e.Data)
	}
	return dst
}

// DecodeMsgpack decodes data into e, overwriting every field. Strings are
// fresh copies; Data is copied into e.Data's capacity and never aliases
// data. On error e's content is unspecified.
func (e *Event) DecodeMsgpack(data []byte) error {
	*e = Event{Data: e.Data[:0]}
	r := reader{b: data}
	n, err := r.mapLen()
	for i := 0; i < n && err == nil; i++ {
		var k []byte
		if k, err = r.key(); err != nil {
			break
		}
		switch string(k) {
		case "c":
			e.Channel, err = r.str(maxStrLen)
		case "s":
			e.Seq, err = r.uint()
		case "f":
			e.From, err = r.str(maxStrLen)
		case "m":
			e.MsgID, err = r.str(maxStrLen)
		case "ts":
			e.Time, err = r.int()
		case "d":
			e.Data, err = r.bin(e.Data[:0], maxDataLen)
		default:
			err = r.skip()
		}
	}
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return fmt.Errorf("bus: decode event: %w", err)
	}
	return nil
}

// nonZero counts the true values: the number of fields a map will hold.
func nonZero(present ...bool) int {
	n := 0
	for _, p := range present {
		if p {
			n++
		}
	}
	return n
}
