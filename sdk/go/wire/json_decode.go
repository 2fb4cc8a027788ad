package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// Decode implements Codec with the rules of the msgpack codec, plus: "d"
// (a string, its UTF-8 bytes) and "d64" (standard padded base64) are
// exclusive. JSON is the debugging protocol, so decoding favours clarity
// over speed: it walks encoding/json tokens (about 70 allocations a frame).
func (jsonCodec) Decode(data []byte, f *Frame) error {
	f.Reset()
	if !utf8.Valid(data) {
		return malformed("json: input is not valid UTF-8")
	}
	d := jsonReader{dec: json.NewDecoder(bytes.NewReader(data))}
	d.dec.UseNumber()
	if err := d.object(false, func(key string) error { return d.field(f, key) }); err != nil {
		return err
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return malformed("json: trailing data after the envelope")
	}
	if f.Type == 0 {
		return malformed("json: frame type \"t\" missing or 0")
	}
	return nil
}

type jsonReader struct {
	dec  *json.Decoder
	seen uint64 // known keys of the envelope already decoded
}

func (d *jsonReader) token() (json.Token, error) {
	t, err := d.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, malformed("json: %v", err)
	}
	return t, nil
}

// object reads a JSON object (or, if nullable, null), calling member for
// each key with the decoder positioned on its value. At most MaxKeys members.
func (d *jsonReader) object(nullable bool, member func(key string) error) error {
	t, err := d.token()
	if err != nil {
		return err
	}
	if t == nil && nullable {
		return nil
	}
	if t != json.Delim('{') {
		return malformed("json: %v, want an object", t)
	}
	for n := 0; d.dec.More(); n++ {
		if n == MaxKeys {
			return tooLarge("json: object of more than %d members", MaxKeys)
		}
		t, err := d.token()
		if err != nil {
			return err
		}
		key, ok := t.(string)
		if !ok {
			return malformed("json: %v, want a key", t)
		}
		if err := member(key); err != nil {
			return err
		}
	}
	_, err = d.token() // '}': More reported the end
	return err
}

func (d *jsonReader) field(f *Frame, key string) (err error) {
	fl := lookupField([]byte(key), true)
	if fl == fieldUnknown {
		return d.skip(1)
	}
	if d.seen&(1<<fl) != 0 {
		return malformed("json: duplicate key %q", key)
	}
	d.seen |= 1 << fl
	var v uint64
	switch fl {
	case fieldType:
		v, err = d.uint(key, math.MaxUint8)
		f.Type = Type(v)
	case fieldID:
		v, err = d.uint(key, math.MaxUint32)
		f.ID = uint32(v)
	case fieldChannel:
		f.Channel, err = d.str(key)
	case fieldData, fieldData64:
		if d.seen&(1<<fieldData) != 0 && d.seen&(1<<fieldData64) != 0 {
			return malformed(`json: both "d" and "d64"`)
		}
		f.Data, err = d.data(key, fl == fieldData64, f.Data[:0])
	case fieldSeq:
		f.Seq, err = d.uint(key, math.MaxUint64)
	case fieldMsgID:
		f.MsgID, err = d.str(key)
	case fieldFrom:
		f.From, err = d.str(key)
	case fieldTime:
		f.Time, err = d.int64(key)
	case fieldCode:
		v, err = d.uint(key, math.MaxUint16)
		f.Code = Code(v)
	case fieldReason:
		f.Reason, err = d.str(key)
	case fieldSession:
		f.Session, err = d.str(key)
	case fieldUser:
		f.User, err = d.str(key)
	case fieldClient:
		f.Client, err = d.str(key)
	case fieldAfter:
		v, err = d.uint(key, math.MaxUint32)
		f.After = uint32(v)
	case fieldLimits:
		err = d.limits(&f.Limits)
	case fieldContentType:
		f.ContentType, err = d.str(key)
	case fieldReplyTo:
		f.ReplyTo, err = d.uint(key, math.MaxUint64)
	case fieldAttachments:
		f.Attachments, err = d.attachments(2)
	case fieldKind:
		v, err = d.uint(key, math.MaxUint8)
		f.Kind = uint8(v)
	case fieldStop:
		f.Stop, err = d.boolean(key)
	case fieldBefore:
		f.Before, err = d.uint(key, math.MaxUint64)
	case fieldSince:
		f.Since, err = d.uint(key, math.MaxUint64)
	case fieldAround:
		f.Around, err = d.uint(key, math.MaxUint64)
	case fieldLimit:
		v, err = d.uint(key, math.MaxUint16)
		f.Limit = uint16(v)
	case fieldOldest:
		f.Oldest, err = d.boolean(key)
	case fieldMore:
		f.More, err = d.boolean(key)
	case fieldMessages:
		err = d.array(keyMessages, MaxMessages, func() error {
			f.Messages = append(f.Messages, Message{})
			return d.message(&f.Messages[len(f.Messages)-1])
		})
	case fieldReactions:
		f.Reactions, err = d.reactions(2)
	case fieldUsers:
		err = d.array(keyUsers, MaxUsers, func() error {
			t, err := d.token()
			u, ok := t.(string)
			if err == nil && !ok {
				err = malformed("json: %q: %v, want a string", keyUsers, t)
			}
			f.Users = append(f.Users, u)
			return err
		})
	case fieldPresences:
		f.Presences, err = d.presences()
	case fieldCallID:
		f.CallID, err = d.str(key)
	case fieldTo:
		f.To, err = d.str(key)
	case fieldMid:
		f.Mid, err = d.str(key)
	case fieldSFU:
		f.SFU, err = d.boolean(key)
	case fieldEndReason:
		v, err = d.uint(key, math.MaxUint8)
		f.EndReason = uint8(v)
	}
	return err
}

// array reads a JSON array (or null) of at most max elements, calling elem
// with the decoder positioned on each. JSON does not declare lengths, so
// the bound is checked as elements arrive.
func (d *jsonReader) array(key string, max int, elem func() error) error {
	t, err := d.token()
	if err != nil || t == nil {
		return err
	}
	if t != json.Delim('[') {
		return malformed("json: %q: %v, want an array", key, t)
	}
	for n := 0; d.dec.More(); n++ {
		if n == max {
			return tooLarge("json: %q: array of more than %d elements", key, max)
		}
		if err := elem(); err != nil {
			return err
		}
	}
	_, err = d.token() // ']'
	return err
}

// message decodes one element of "ms", an object at depth 2.
func (d *jsonReader) message(m *Message) error {
	var seen uint16
	return d.object(false, func(key string) (err error) {
		fl := lookupMsgField([]byte(key), true)
		if fl == msgUnknown {
			return d.skip(3)
		}
		if seen&(1<<fl) != 0 {
			return malformed("json: duplicate key %q in a message", key)
		}
		seen |= 1 << fl
		switch fl {
		case msgSeq:
			m.Seq, err = d.uint(key, math.MaxUint64)
		case msgFrom:
			m.From, err = d.str(key)
		case msgMsgID:
			m.MsgID, err = d.str(key)
		case msgContentType:
			m.ContentType, err = d.str(key)
		case msgData, msgData64:
			if seen&(1<<msgData) != 0 && seen&(1<<msgData64) != 0 {
				return malformed(`json: both "d" and "d64" in a message`)
			}
			m.Data, err = d.data(key, fl == msgData64, m.Data[:0])
			if len(m.Data) == 0 {
				m.Data = nil
			}
		case msgReplyTo:
			m.ReplyTo, err = d.uint(key, math.MaxUint64)
		case msgAttachments:
			m.Attachments, err = d.attachments(4)
		case msgTime:
			m.Time, err = d.int64(key)
		case msgEdited:
			m.Edited, err = d.int64(key)
		case msgDeleted:
			m.Deleted, err = d.boolean(key)
		case msgPinned:
			m.Pinned, err = d.boolean(key)
		case msgReactions:
			m.Reactions, err = d.reactions(4)
		}
		return err
	})
}

// attachments decodes an "at" array whose elements are objects at depth depth.
func (d *jsonReader) attachments(depth int) (at []Attachment, err error) {
	err = d.array(keyAttachments, MaxAttachments, func() error {
		at = append(at, Attachment{})
		a := &at[len(at)-1]
		var seen uint8
		return d.object(false, func(key string) (err error) {
			k := attachmentIndex([]byte(key))
			if k < 0 {
				return d.skip(depth + 1)
			}
			if seen&(1<<k) != 0 {
				return malformed("json: duplicate key %q in an attachment", key)
			}
			seen |= 1 << k
			switch k {
			case 0:
				a.URL, err = d.str(key)
			case 1:
				a.Mime, err = d.str(key)
			case 2:
				a.Size, err = d.int64(key)
			case 3:
				a.Name, err = d.str(key)
			}
			return err
		})
	})
	return at, err
}

// reactions decodes an "rx" array whose elements are objects at depth depth.
func (d *jsonReader) reactions(depth int) (rx []Reaction, err error) {
	err = d.array(keyReactions, MaxReactions, func() error {
		rx = append(rx, Reaction{})
		x := &rx[len(rx)-1]
		var seen uint8
		return d.object(false, func(key string) (err error) {
			k := reactionIndex([]byte(key))
			if k < 0 {
				return d.skip(depth + 1)
			}
			if seen&(1<<k) != 0 {
				return malformed("json: duplicate key %q in a reaction", key)
			}
			seen |= 1 << k
			if k == 0 {
				x.Emoji, err = d.str(key)
			} else {
				var v uint64
				v, err = d.uint(key, math.MaxUint32)
				x.Count = uint32(v)
			}
			return err
		})
	})
	return rx, err
}

// presences decodes "ps", whose elements are objects at depth 2.
func (d *jsonReader) presences() (ps []Presence, err error) {
	err = d.array(keyPresences, MaxUsers, func() error {
		ps = append(ps, Presence{})
		p := &ps[len(ps)-1]
		var seen uint8
		return d.object(false, func(key string) (err error) {
			k := presenceIndex([]byte(key))
			if k < 0 {
				return d.skip(3)
			}
			if seen&(1<<k) != 0 {
				return malformed("json: duplicate key %q in a presence", key)
			}
			seen |= 1 << k
			var v uint64
			switch k {
			case 0:
				p.User, err = d.str(key)
			case 1:
				v, err = d.uint(key, math.MaxUint8)
				p.Kind = uint8(v)
			case 2:
				p.LastSeen, err = d.int64(key)
			case 3:
				p.Status, err = d.str(key)
			case 4:
				p.Invisible, err = d.boolean(key)
			}
			return err
		})
	})
	return ps, err
}

func (d *jsonReader) limits(l *Limits) error {
	fields := l.fields()
	var seen uint8
	return d.object(true, func(key string) error {
		i := limitIndex([]byte(key))
		if i < 0 {
			return d.skip(2)
		}
		if seen&(1<<i) != 0 {
			return malformed("json: duplicate key %q in \"l\"", key)
		}
		seen |= 1 << i
		v, err := d.uint(key, math.MaxUint32)
		*fields[i] = uint32(v)
		return err
	})
}

// data reads the string of "d" (its UTF-8 bytes) or, if base64, of "d64"
// (standard padded base64) and appends the bytes to dst.
func (d *jsonReader) data(key string, base64Form bool, dst []byte) ([]byte, error) {
	s, err := d.str(key)
	if err != nil {
		return dst, err
	}
	if !base64Form {
		return append(dst, s...), nil
	}
	if dst, err = base64.StdEncoding.Strict().AppendDecode(dst, []byte(s)); err != nil {
		return dst, malformed("json: %q: %v", key, err)
	}
	return dst, nil
}

// boolean reads true, false or null (as false).
func (d *jsonReader) boolean(key string) (bool, error) {
	t, err := d.token()
	if err != nil || t == nil {
		return false, err
	}
	b, ok := t.(bool)
	if !ok {
		return false, malformed("json: %q: %v, want a bool", key, t)
	}
	return b, nil
}

// int64 reads an integer literal that fits an int64, or null (as 0).
func (d *jsonReader) int64(key string) (int64, error) {
	n, err := d.number(key)
	if err != nil || n == "" {
		return 0, err
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, malformed("json: %q: %s is not an integer in the range of int64", key, n)
	}
	return v, nil
}

// str reads a string or null (as "").
func (d *jsonReader) str(key string) (string, error) {
	t, err := d.token()
	if err != nil || t == nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", malformed("json: %q: %v, want a string", key, t)
	}
	return s, nil
}

// number reads a number or null (as "").
func (d *jsonReader) number(key string) (json.Number, error) {
	t, err := d.token()
	if err != nil || t == nil {
		return "", err
	}
	n, ok := t.(json.Number)
	if !ok {
		return "", malformed("json: %q: %v, want a number", key, t)
	}
	return n, nil
}

// uint reads a non-negative integer literal no larger than max, or null.
// Fractions and exponents are rejected.
func (d *jsonReader) uint(key string, max uint64) (uint64, error) {
	n, err := d.number(key)
	if err != nil || n == "" {
		return 0, err
	}
	v, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil || v > max {
		return 0, malformed("json: %q: %s is not an integer in [0, %d]", key, n, max)
	}
	return v, nil
}

// skip skips one value of any type at nesting depth depth. encoding/json's
// scanner finds its end (walking it token by token costs microseconds per
// element); a second pass bounds its nesting exactly as the msgpack decoder
// does: every value inside a container, keys included, is one level deeper
// than the container.
func (d *jsonReader) skip(depth int) error {
	var raw json.RawMessage
	if err := d.dec.Decode(&raw); err != nil {
		return malformed("json: %v", err)
	}
	level := 0 // containers open around the current position, inside raw
	inString, escaped := false, false
	for _, c := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r', ',', ':':
			continue
		case ']', '}':
			level--
			continue
		}
		if depth+level > MaxDepth { // a value (or the first byte of one) this deep
			return malformed("json: unknown value nested deeper than %d", MaxDepth)
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			level++
		}
	}
	return nil
}
