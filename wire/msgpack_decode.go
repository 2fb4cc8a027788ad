package wire

import (
	"math"
	"unicode/utf8"
)

// Decode implements Codec. See PROTOCOL.md, "Decoding rules".
func (msgpackCodec) Decode(data []byte, f *Frame) error {
	f.Reset()
	r := mpReader{b: data}
	n, isNil, err := r.mapLen()
	if err != nil {
		return err
	}
	if isNil {
		return malformed("msgpack: envelope is nil, want a map")
	}
	var seen uint64
	for ; n > 0; n-- {
		key, err := r.key()
		if err != nil {
			return err
		}
		fl := lookupField(key, false)
		if fl == fieldUnknown {
			if err := r.skip(1); err != nil {
				return err
			}
			continue
		}
		if seen&(1<<fl) != 0 {
			return malformed("msgpack: duplicate key %q", key)
		}
		seen |= 1 << fl
		if err := r.field(f, fl); err != nil {
			return err
		}
	}
	if r.off != len(r.b) {
		return malformed("msgpack: %d trailing bytes after the envelope", len(r.b)-r.off)
	}
	if f.Type == 0 {
		return malformed("msgpack: frame type \"t\" missing or 0")
	}
	return nil
}

// mpReader reads msgpack values from b. Every length is checked against the
// remaining input before anything is sliced or allocated.
type mpReader struct {
	b   []byte
	off int
}

func (r *mpReader) truncated(what string) error {
	return malformed("msgpack: %s truncated at offset %d", what, r.off)
}

func (r *mpReader) byte1() (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.truncated("value")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// bigEndian reads an n-byte (1, 2, 4 or 8) unsigned big-endian number.
func (r *mpReader) bigEndian(n int) (uint64, error) {
	if len(r.b)-r.off < n {
		return 0, r.truncated("number")
	}
	var v uint64
	for _, c := range r.b[r.off : r.off+n] {
		v = v<<8 | uint64(c)
	}
	r.off += n
	return v, nil
}

// bytes returns the next n bytes of input, without copying.
func (r *mpReader) bytes(n uint64, what string) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, malformed("msgpack: %s length %d exceeds the %d remaining bytes", what, n, len(r.b)-r.off)
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// mapLen reads a map header (or nil) and bounds its size by MaxKeys.
func (r *mpReader) mapLen() (n int, isNil bool, err error) {
	c, err := r.byte1()
	if err != nil {
		return 0, false, err
	}
	var v uint64
	switch {
	case c == mpNil:
		return 0, true, nil
	case c&0xf0 == mpFixMap:
		v = uint64(c & mpFixMask)
	case c == mpMap16:
		v, err = r.bigEndian(2)
	case c == mpMap32:
		v, err = r.bigEndian(4)
	default:
		return 0, false, malformed("msgpack: code 0x%02x at offset %d, want a map", c, r.off-1)
	}
	if err != nil {
		return 0, false, err
	}
	if v > MaxKeys {
		return 0, false, tooLarge("msgpack: map of %d entries, at most %d allowed", v, MaxKeys)
	}
	return int(v), false, nil
}

// strLen reads a str header; ok is false (and nothing is consumed) when the
// next value is not a str.
func (r *mpReader) strLen() (n uint64, ok bool, err error) {
	if r.off >= len(r.b) {
		return 0, false, r.truncated("string")
	}
	c := r.b[r.off]
	switch {
	case c&0xe0 == mpFixStr:
		r.off++
		return uint64(c & mpFixStrMask), true, nil
	case c == mpStr8:
		r.off++
		n, err = r.bigEndian(1)
	case c == mpStr16:
		r.off++
		n, err = r.bigEndian(2)
	case c == mpStr32:
		r.off++
		n, err = r.bigEndian(4)
	default:
		return 0, false, nil
	}
	return n, true, err
}

// key reads a map key, which must be a str; the result aliases the input.
func (r *mpReader) key() ([]byte, error) {
	n, ok, err := r.strLen()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, malformed("msgpack: code 0x%02x at offset %d, want a string key", r.b[r.off], r.off)
	}
	return r.bytes(n, "key")
}

// str reads a str (or nil as ""), which must be valid UTF-8, and copies it.
func (r *mpReader) str(name string) (string, error) {
	return r.strCached(name, nil)
}

// strCached is str, returning a string held by c instead of a new copy
// when one equals the value: values that repeat down a page (senders,
// content types, emoji) then cost no allocation. c may be nil.
func (r *mpReader) strCached(name string, c *strCache) (string, error) {
	if r.off < len(r.b) && r.b[r.off] == mpNil {
		r.off++
		return "", nil
	}
	n, ok, err := r.strLen()
	if err != nil {
		return "", err
	}
	if !ok {
		return "", malformed("msgpack: %q: code 0x%02x, want a string", name, r.b[r.off])
	}
	b, err := r.bytes(n, "string")
	if err != nil || len(b) == 0 {
		return "", err
	}
	if c != nil {
		for _, s := range c.s {
			if string(b) == s {
				return s, nil
			}
		}
	}
	if !utf8.Valid(b) {
		return "", malformed("msgpack: %q: string is not valid UTF-8", name)
	}
	s := string(b)
	if c != nil {
		c.s[c.next%uint8(len(c.s))] = s
		c.next++
	}
	return s, nil
}

// strCache holds the last distinct strings of one field decoded in a page.
type strCache struct {
	s    [4]string
	next uint8
}

// page is the state of decoding one "ms" array.
type page struct {
	from, contentType, mime, emoji strCache
	arena                          []byte // unused tail of the chunk message bodies are copied into
}

// Bodies of at most pageBodyMax bytes are copied into shared chunks of at
// most pageChunk bytes, one allocation for many messages; larger bodies get
// their own, so that keeping one message does not pin much of the page.
const (
	pageChunk   = 8 << 10
	pageBodyMax = 1 << 10
)

// copyBody returns a copy of b whose capacity ends at its length, so that
// appending to it never overwrites the next body. remaining bounds what the
// rest of the page can hold.
func (p *page) copyBody(b []byte, remaining int) []byte {
	if len(b) > pageBodyMax {
		c := make([]byte, len(b))
		copy(c, b)
		return c
	}
	if cap(p.arena) < len(b) {
		p.arena = make([]byte, 0, min(pageChunk, len(b)+remaining))
	}
	c := append(p.arena, b...)
	p.arena = c[len(b):len(b):cap(c)]
	return c[:len(b):len(b)]
}

// boolean reads true, false or nil (as false).
func (r *mpReader) boolean(name string) (bool, error) {
	c, err := r.byte1()
	if err != nil {
		return false, err
	}
	switch c {
	case mpTrue:
		return true, nil
	case mpFalse, mpNil:
		return false, nil
	}
	return false, malformed("msgpack: %q: code 0x%02x, want a bool", name, c)
}

// arrayLen reads an array header (or nil, as 0 elements) and bounds its
// length by max (ErrTooLarge) and then by the remaining input, since every
// element takes at least one byte (ErrMalformed): nothing is allocated for
// elements that cannot be there.
func (r *mpReader) arrayLen(name string, max int) (int, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, err
	}
	var v uint64
	switch {
	case c == mpNil:
		return 0, nil
	case c&0xf0 == mpFixArray:
		v = uint64(c & mpFixMask)
	case c == mpArray16:
		v, err = r.bigEndian(2)
	case c == mpArray32:
		v, err = r.bigEndian(4)
	default:
		return 0, malformed("msgpack: %q: code 0x%02x, want an array", name, c)
	}
	if err != nil {
		return 0, err
	}
	if v > uint64(max) {
		return 0, tooLarge("msgpack: %q: array of %d elements, at most %d allowed", name, v, max)
	}
	if v > uint64(len(r.b)-r.off) {
		return 0, malformed("msgpack: %q: %d elements exceed the %d remaining bytes", name, v, len(r.b)-r.off)
	}
	return int(v), nil
}

// elemMapLen reads the map header of an array element; nil is refused.
func (r *mpReader) elemMapLen(name string) (int, error) {
	n, isNil, err := r.mapLen()
	if err == nil && isNil {
		err = malformed("msgpack: %q: element is nil, want a map", name)
	}
	return n, err
}

// bin reads a bin (or, leniently, a str; or nil as empty), aliasing the input.
func (r *mpReader) bin() ([]byte, error) {
	c, err := r.byte1()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case c == mpNil:
		return nil, nil
	case c == mpBin8 || c == mpStr8:
		n, err = r.bigEndian(1)
	case c == mpBin16 || c == mpStr16:
		n, err = r.bigEndian(2)
	case c == mpBin32 || c == mpStr32:
		n, err = r.bigEndian(4)
	case c&0xe0 == mpFixStr:
		n = uint64(c & mpFixStrMask)
	default:
		return nil, malformed("msgpack: \"d\": code 0x%02x, want bin", c)
	}
	if err != nil {
		return nil, err
	}
	return r.bytes(n, "bin")
}

// integer reads any msgpack integer (or nil as 0). For negative values neg
// is true and v holds the two's complement bits of the int64.
func (r *mpReader) integer(name string) (v uint64, neg bool, err error) {
	c, err := r.byte1()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c <= mpPosFixMax:
		return uint64(c), false, nil
	case c >= mpNegFixMin:
		return uint64(int64(int8(c))), true, nil
	case c == mpNil:
		return 0, false, nil
	case c >= mpUint8 && c <= mpUint64:
		v, err = r.bigEndian(1 << (c - mpUint8))
		return v, false, err
	case c >= mpInt8 && c <= mpInt64:
		size := 1 << (c - mpInt8)
		if v, err = r.bigEndian(size); err != nil {
			return 0, false, err
		}
		shift := 64 - 8*size // sign-extend
		s := int64(v<<shift) >> shift
		return uint64(s), s < 0, nil
	}
	return 0, false, malformed("msgpack: %q: code 0x%02x, want an integer", name, c)
}

// uint reads a non-negative integer no larger than max.
func (r *mpReader) uint(name string, max uint64) (uint64, error) {
	v, neg, err := r.integer(name)
	if err != nil {
		return 0, err
	}
	if neg || v > max {
		return 0, malformed("msgpack: %q: integer out of range", name)
	}
	return v, nil
}

func (r *mpReader) int64(name string) (int64, error) {
	v, neg, err := r.integer(name)
	if err != nil {
		return 0, err
	}
	if !neg && v > math.MaxInt64 {
		return 0, malformed("msgpack: %q: integer out of range", name)
	}
	return int64(v), nil
}

// field decodes the value of a known key into f.
func (r *mpReader) field(f *Frame, fl field) (err error) {
	var v uint64
	switch fl {
	case fieldType:
		v, err = r.uint(keyType, math.MaxUint8)
		f.Type = Type(v)
	case fieldID:
		v, err = r.uint(keyID, math.MaxUint32)
		f.ID = uint32(v)
	case fieldChannel:
		f.Channel, err = r.str(keyChannel)
	case fieldData:
		var b []byte
		if b, err = r.bin(); err == nil {
			f.Data = append(f.Data[:0], b...)
		}
	case fieldSeq:
		f.Seq, err = r.uint(keySeq, math.MaxUint64)
	case fieldMsgID:
		f.MsgID, err = r.str(keyMsgID)
	case fieldFrom:
		f.From, err = r.str(keyFrom)
	case fieldTime:
		f.Time, err = r.int64(keyTime)
	case fieldCode:
		v, err = r.uint(keyCode, math.MaxUint16)
		f.Code = Code(v)
	case fieldReason:
		f.Reason, err = r.str(keyReason)
	case fieldSession:
		f.Session, err = r.str(keySession)
	case fieldUser:
		f.User, err = r.str(keyUser)
	case fieldClient:
		f.Client, err = r.str(keyClient)
	case fieldAfter:
		v, err = r.uint(keyAfter, math.MaxUint32)
		f.After = uint32(v)
	case fieldLimits:
		err = r.limits(&f.Limits)
	case fieldContentType:
		f.ContentType, err = r.str(keyContentType)
	case fieldReplyTo:
		f.ReplyTo, err = r.uint(keyReplyTo, math.MaxUint64)
	case fieldAttachments:
		f.Attachments, err = r.attachments(2, nil)
	case fieldKind:
		v, err = r.uint(keyKind, math.MaxUint8)
		f.Kind = uint8(v)
	case fieldStop:
		f.Stop, err = r.boolean(keyStop)
	case fieldBefore:
		f.Before, err = r.uint(keyBefore, math.MaxUint64)
	case fieldSince:
		f.Since, err = r.uint(keySince, math.MaxUint64)
	case fieldAround:
		f.Around, err = r.uint(keyAround, math.MaxUint64)
	case fieldLimit:
		v, err = r.uint(keyLimit, math.MaxUint16)
		f.Limit = uint16(v)
	case fieldOldest:
		f.Oldest, err = r.boolean(keyOldest)
	case fieldMore:
		f.More, err = r.boolean(keyMore)
	case fieldMessages:
		err = r.messages(f)
	case fieldReactions:
		f.Reactions, err = r.reactions(2, nil)
	case fieldUsers:
		f.Users, err = r.users()
	case fieldPresences:
		f.Presences, err = r.presences()
	case fieldCallID:
		f.CallID, err = r.str(keyCallID)
	case fieldTo:
		f.To, err = r.str(keyTo)
	case fieldMid:
		f.Mid, err = r.str(keyMid)
	case fieldSFU:
		f.SFU, err = r.boolean(keySFU)
	case fieldEndReason:
		v, err = r.uint(keyEndReason, math.MaxUint8)
		f.EndReason = uint8(v)
	}
	return err
}

// messages decodes "ms". Elements are maps at depth 2: their unknown
// values are at depth 3.
func (r *mpReader) messages(f *Frame) error {
	n, err := r.arrayLen(keyMessages, MaxMessages)
	if err != nil || n == 0 {
		return err
	}
	f.Messages = make([]Message, n)
	var p page
	for i := range f.Messages {
		if err := r.message(&f.Messages[i], &p); err != nil {
			return err
		}
	}
	return nil
}

// message decodes one element of "ms" into m.
func (r *mpReader) message(m *Message, p *page) (err error) {
	n, err := r.elemMapLen(keyMessages)
	if err != nil {
		return err
	}
	var seen uint16
	for ; n > 0; n-- {
		key, err := r.key()
		if err != nil {
			return err
		}
		fl := lookupMsgField(key, false)
		if fl == msgUnknown {
			if err := r.skip(3); err != nil {
				return err
			}
			continue
		}
		if seen&(1<<fl) != 0 {
			return malformed("msgpack: duplicate key %q in a message", key)
		}
		seen |= 1 << fl
		switch fl {
		case msgSeq:
			m.Seq, err = r.uint(keySeq, math.MaxUint64)
		case msgFrom:
			m.From, err = r.strCached(keyFrom, &p.from)
		case msgMsgID:
			m.MsgID, err = r.str(keyMsgID)
		case msgContentType:
			m.ContentType, err = r.strCached(keyContentType, &p.contentType)
		case msgData:
			var b []byte
			if b, err = r.bin(); err == nil && len(b) != 0 {
				m.Data = p.copyBody(b, len(r.b)-r.off)
			}
		case msgReplyTo:
			m.ReplyTo, err = r.uint(keyReplyTo, math.MaxUint64)
		case msgAttachments:
			m.Attachments, err = r.attachments(4, p)
		case msgTime:
			m.Time, err = r.int64(keyTime)
		case msgEdited:
			m.Edited, err = r.int64(keyEdited)
		case msgDeleted:
			m.Deleted, err = r.boolean(keyDeleted)
		case msgPinned:
			m.Pinned, err = r.boolean(keyPinned)
		case msgReactions:
			m.Reactions, err = r.reactions(4, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// attachments decodes an "at" array whose elements sit at depth depth; p
// is the page of the message it belongs to, or nil.
func (r *mpReader) attachments(depth int, p *page) ([]Attachment, error) {
	n, err := r.arrayLen(keyAttachments, MaxAttachments)
	if err != nil || n == 0 {
		return nil, err
	}
	var mimes *strCache
	if p != nil {
		mimes = &p.mime
	}
	at := make([]Attachment, n)
	for i := range at {
		a := &at[i]
		n, err := r.elemMapLen(keyAttachments)
		if err != nil {
			return at, err
		}
		var seen uint8
		for ; n > 0; n-- {
			key, err := r.key()
			if err != nil {
				return at, err
			}
			k := attachmentIndex(key)
			if k < 0 {
				if err := r.skip(depth + 1); err != nil {
					return at, err
				}
				continue
			}
			if seen&(1<<k) != 0 {
				return at, malformed("msgpack: duplicate key %q in an attachment", key)
			}
			seen |= 1 << k
			switch k {
			case 0:
				a.URL, err = r.str(keyURL)
			case 1:
				a.Mime, err = r.strCached(keyMime, mimes)
			case 2:
				a.Size, err = r.int64(keySize)
			case 3:
				a.Name, err = r.str(keyName)
			}
			if err != nil {
				return at, err
			}
		}
	}
	return at, nil
}

// reactions decodes an "rx" array whose elements sit at depth depth; p is
// the page of the message it belongs to, or nil.
func (r *mpReader) reactions(depth int, p *page) ([]Reaction, error) {
	n, err := r.arrayLen(keyReactions, MaxReactions)
	if err != nil || n == 0 {
		return nil, err
	}
	var emoji *strCache
	if p != nil {
		emoji = &p.emoji
	}
	rx := make([]Reaction, n)
	for i := range rx {
		x := &rx[i]
		n, err := r.elemMapLen(keyReactions)
		if err != nil {
			return rx, err
		}
		var seen uint8
		for ; n > 0; n-- {
			key, err := r.key()
			if err != nil {
				return rx, err
			}
			k := reactionIndex(key)
			if k < 0 {
				if err := r.skip(depth + 1); err != nil {
					return rx, err
				}
				continue
			}
			if seen&(1<<k) != 0 {
				return rx, malformed("msgpack: duplicate key %q in a reaction", key)
			}
			seen |= 1 << k
			if k == 0 {
				x.Emoji, err = r.strCached(keyEmoji, emoji)
			} else {
				var v uint64
				v, err = r.uint(keyCount, math.MaxUint32)
				x.Count = uint32(v)
			}
			if err != nil {
				return rx, err
			}
		}
	}
	return rx, nil
}

// users decodes "us", an array of strings; a nil element is refused.
func (r *mpReader) users() ([]string, error) {
	n, err := r.arrayLen(keyUsers, MaxUsers)
	if err != nil || n == 0 {
		return nil, err
	}
	us := make([]string, n)
	for i := range us {
		if r.off < len(r.b) && r.b[r.off] == mpNil {
			return us, malformed("msgpack: %q: element is nil, want a string", keyUsers)
		}
		if us[i], err = r.str(keyUsers); err != nil {
			return us, err
		}
	}
	return us, nil
}

// presences decodes "ps". Elements are maps at depth 2: their unknown
// values are at depth 3.
func (r *mpReader) presences() ([]Presence, error) {
	n, err := r.arrayLen(keyPresences, MaxUsers)
	if err != nil || n == 0 {
		return nil, err
	}
	ps := make([]Presence, n)
	for i := range ps {
		p := &ps[i]
		n, err := r.elemMapLen(keyPresences)
		if err != nil {
			return ps, err
		}
		var seen uint8
		for ; n > 0; n-- {
			key, err := r.key()
			if err != nil {
				return ps, err
			}
			k := presenceIndex(key)
			if k < 0 {
				if err := r.skip(3); err != nil {
					return ps, err
				}
				continue
			}
			if seen&(1<<k) != 0 {
				return ps, malformed("msgpack: duplicate key %q in a presence", key)
			}
			seen |= 1 << k
			var v uint64
			switch k {
			case 0:
				p.User, err = r.str(keyUser)
			case 1:
				v, err = r.uint(keyKind, math.MaxUint8)
				p.Kind = uint8(v)
			case 2:
				p.LastSeen, err = r.int64(keyTime)
			case 3:
				p.Status, err = r.str(keyStatus)
			case 4:
				p.Invisible, err = r.boolean(keyInvisible)
			}
			if err != nil {
				return ps, err
			}
		}
	}
	return ps, nil
}

func (r *mpReader) limits(l *Limits) error {
	n, _, err := r.mapLen()
	if err != nil {
		return err
	}
	fields := l.fields()
	var seen uint8
	for ; n > 0; n-- {
		key, err := r.key()
		if err != nil {
			return err
		}
		i := limitIndex(key)
		if i < 0 {
			if err := r.skip(2); err != nil {
				return err
			}
			continue
		}
		if seen&(1<<i) != 0 {
			return malformed("msgpack: duplicate key %q in \"l\"", key)
		}
		seen |= 1 << i
		v, err := r.uint(limitKeys[i], math.MaxUint32)
		if err != nil {
			return err
		}
		*fields[i] = uint32(v)
	}
	return nil
}

// skip skips one value of any type at nesting depth depth.
func (r *mpReader) skip(depth int) error {
	if depth > MaxDepth {
		return malformed("msgpack: unknown value nested deeper than %d", MaxDepth)
	}
	c, err := r.byte1()
	if err != nil {
		return err
	}
	var n uint64 // bytes to skip, or elements for arrays and maps
	switch {
	case c <= mpPosFixMax, c >= mpNegFixMin, c == mpNil, c == mpFalse, c == mpTrue:
		return nil
	case c&0xf0 == mpFixMap:
		return r.skipElems(2*uint64(c&mpFixMask), depth)
	case c&0xf0 == mpFixArray:
		return r.skipElems(uint64(c&mpFixMask), depth)
	case c&0xe0 == mpFixStr:
		n = uint64(c & mpFixStrMask)
	case c == mpBin8, c == mpStr8:
		n, err = r.bigEndian(1)
	case c == mpBin16, c == mpStr16:
		n, err = r.bigEndian(2)
	case c == mpBin32, c == mpStr32:
		n, err = r.bigEndian(4)
	case c == mpExt8:
		n, err = r.bigEndian(1)
		n++ // the type byte
	case c == mpExt16:
		n, err = r.bigEndian(2)
		n++
	case c == mpExt32:
		n, err = r.bigEndian(4)
		n++
	case c == mpFloat32:
		n = 4
	case c == mpFloat64:
		n = 8
	case c >= mpUint8 && c <= mpUint64:
		n = 1 << (c - mpUint8)
	case c >= mpInt8 && c <= mpInt64:
		n = 1 << (c - mpInt8)
	case c >= mpFixExt1 && c <= mpFixExt16:
		n = 1 + 1<<(c-mpFixExt1)
	case c == mpArray16:
		n, err = r.bigEndian(2)
		if err == nil {
			err = r.skipElems(n, depth)
		}
		return err
	case c == mpArray32:
		n, err = r.bigEndian(4)
		if err == nil {
			err = r.skipElems(n, depth)
		}
		return err
	case c == mpMap16:
		n, err = r.bigEndian(2)
		if err == nil {
			err = r.skipElems(2*n, depth)
		}
		return err
	case c == mpMap32:
		n, err = r.bigEndian(4)
		if err == nil {
			err = r.skipElems(2*n, depth)
		}
		return err
	default: // 0xc1, never used
		return malformed("msgpack: invalid code 0x%02x at offset %d", c, r.off-1)
	}
	if err != nil {
		return err
	}
	_, err = r.bytes(n, "value")
	return err
}

// skipElems skips n values nested one level below depth. Each value takes at
// least one byte, so a count beyond the remaining input fails before looping.
func (r *mpReader) skipElems(n uint64, depth int) error {
	if n > uint64(len(r.b)-r.off) {
		return malformed("msgpack: %d elements exceed the %d remaining bytes", n, len(r.b)-r.off)
	}
	for ; n > 0; n-- {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}
