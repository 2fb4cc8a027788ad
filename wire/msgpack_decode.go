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
	var seen uint32
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
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", malformed("msgpack: %q: string is not valid UTF-8", name)
	}
	return string(b), nil
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
	}
	return err
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
