package bus

import (
	"encoding/binary"
	"fmt"
)

// PresenceSubject carries PresenceReports from edges to core (queue group
// QueueCore): one message per edge per interval, never one per connection.
const PresenceSubject = Prefix + ".presence"

// PresenceQuerySubject carries presence queries from edges to core (queue
// group QueueCore): a Request holding the client's presence frame (wire
// type 16 with Users); core replies with a presence frame (Presences) or an
// error frame. A third token keeps it apart from PresenceSubject's reports.
const PresenceQuerySubject = PresenceSubject + ".query"

// maxReportUsers bounds the users of one report.
const maxReportUsers = 1 << 20

// PresenceReport is what an edge tells core about the users it holds.
// Online, sent every beat, lists every user with a live connection on the
// edge and refreshes their presence for TTL; Joined and Left, sent within
// a fraction of a second, are the users whose first connection opened or
// whose last connection closed since the previous report.
type PresenceReport struct {
	Edge   string   // "e": the reporting edge's id, unique per process
	TTL    int64    // "ttl": milliseconds the reported presence lasts without a new beat
	Online []string // "on"
	Joined []string // "j"
	Left   []string // "l"
}

// AppendMsgpack appends the msgpack encoding of r to dst.
func (r *PresenceReport) AppendMsgpack(dst []byte) []byte {
	dst = appendMapHeader(dst, nonZero(r.Edge != "", r.TTL != 0, len(r.Online) > 0, len(r.Joined) > 0, len(r.Left) > 0))
	if r.Edge != "" {
		dst = appendStr(append(dst, 0xa1, 'e'), r.Edge)
	}
	if r.TTL != 0 {
		dst = appendInt(append(dst, 0xa3, 't', 't', 'l'), r.TTL)
	}
	for _, l := range []struct {
		key   string
		users []string
	}{{"on", r.Online}, {"j", r.Joined}, {"l", r.Left}} {
		if len(l.users) > 0 {
			dst = appendStrs(appendStr(dst, l.key), l.users)
		}
	}
	return dst
}

func appendStrs(dst []byte, ss []string) []byte {
	n := len(ss)
	switch {
	case n < 16:
		dst = append(dst, 0x90|byte(n))
	case n <= 0xffff:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
	}
	for _, s := range ss {
		dst = appendStr(dst, s)
	}
	return dst
}

// DecodeMsgpack decodes data into r.
func (r *PresenceReport) DecodeMsgpack(data []byte) error {
	*r = PresenceReport{}
	err := decodeMap(data, func(k string, rd *reader) (err error) {
		switch k {
		case "e":
			r.Edge, err = rd.str(maxStrLen)
		case "ttl":
			r.TTL, err = rd.int()
		case "on":
			r.Online, err = rd.strs()
		case "j":
			r.Joined, err = rd.strs()
		case "l":
			r.Left, err = rd.strs()
		default:
			err = rd.skip()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("bus: decode presence report: %w", err)
	}
	return nil
}

// strs reads an array of strings.
func (r *reader) strs() ([]string, error) {
	c, err := r.byte()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case c&0xf0 == 0x90:
		n = uint64(c & 0x0f)
	case c == 0xdc:
		n, err = r.be(2)
	case c == 0xdd:
		n, err = r.be(4)
	default:
		return nil, fmt.Errorf("%w: want array, got 0x%02x", ErrMalformed, c)
	}
	switch {
	case err != nil:
		return nil, err
	case n > maxReportUsers:
		return nil, fmt.Errorf("%w: %d users in one report", ErrTooLarge, n)
	case n > uint64(r.left()):
		return nil, fmt.Errorf("%w: array of %d in %d bytes", ErrMalformed, n, r.left())
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = r.str(maxStrLen); err != nil {
			return nil, err
		}
	}
	return out, nil
}
