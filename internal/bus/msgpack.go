package bus

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The subset of msgpack (https://github.com/msgpack/msgpack/blob/master/spec.md)
// that bus messages use, written by hand so that encoding allocates nothing
// and decoding allocates only the strings and byte slices it returns.
//
// Encoders always pick the shortest form. Decoders accept every integer width
// and signedness, nil for any field (meaning zero), str or bin for byte
// fields, and skip values of unknown keys whatever their type, so that a
// message written by a newer or different encoder still decodes.

// Decoding limits, checked before anything is allocated.
const (
	maxStrLen  = 1024     // channel, user, message and session ids, reasons
	maxDataLen = 64 << 20 // payloads: the largest max_payload NATS accepts
)

func appendMapHeader(dst []byte, n int) []byte {
	// Bus messages have at most 15 fields: always a fixmap.
	return append(dst, 0x80|byte(n))
}

func appendStr(dst []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		dst = append(dst, 0xda, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, s...)
}

func appendBin(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = append(dst, 0xc5, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, b...)
}

func appendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return append(dst, 0xcd, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return append(dst, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 0xcf), v)
	}
}

func appendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(dst, uint64(v))
	case v >= -32:
		return append(dst, byte(v))
	case v >= math.MinInt8:
		return append(dst, 0xd0, byte(v))
	case v >= math.MinInt16:
		return append(dst, 0xd1, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return append(dst, 0xd2, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
	}
}

// reader decodes msgpack values from b. Every method checks lengths against
// what is left before slicing or allocating, and never panics.
type reader struct {
	b   []byte
	off int
}

func (r *reader) left() int { return len(r.b) - r.off }

// next returns the following n bytes.
func (r *reader) next(n uint64) ([]byte, error) {
	if n > uint64(r.left()) {
		return nil, fmt.Errorf("%w: truncated", ErrMalformed)
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p, nil
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, fmt.Errorf("%w: truncated", ErrMalformed)
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// be reads an n-byte (1, 2, 4 or 8) big-endian unsigned number.
func (r *reader) be(n uint64) (uint64, error) {
	p, err := r.next(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// end reports an error if bytes are left after the top-level value.
func (r *reader) end() error {
	if r.left() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.left())
	}
	return nil
}

// mapLen reads a map header. Each entry takes at least two bytes, which
// bounds the count by the input.
func (r *reader) mapLen() (int, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xf0 == 0x80:
		n = uint64(c & 0x0f)
	case c == 0xde:
		n, err = r.be(2)
	case c == 0xdf:
		n, err = r.be(4)
	default:
		return 0, fmt.Errorf("%w: want map, got 0x%02x", ErrMalformed, c)
	}
	if err != nil {
		return 0, err
	}
	if 2*n > uint64(r.left()) {
		return 0, fmt.Errorf("%w: map of %d entries in %d bytes", ErrMalformed, n, r.left())
	}
	return int(n), nil
}

// strLen reads the header of a str (or, with bin, a bin) value. ok is false
// for nil.
func (r *reader) strLen(bin bool) (n uint64, ok bool, err error) {
	c, err := r.byte()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c&0xe0 == 0xa0:
		return uint64(c & 0x1f), true, nil
	case c == 0xc0:
		return 0, false, nil
	case c == 0xd9, bin && c == 0xc4:
		n, err = r.be(1)
	case c == 0xda, bin && c == 0xc5:
		n, err = r.be(2)
	case c == 0xdb, bin && c == 0xc6:
		n, err = r.be(4)
	default:
		return 0, false, fmt.Errorf("%w: want string, got 0x%02x", ErrMalformed, c)
	}
	return n, err == nil, err
}

// bytesView returns the content of a str/bin value without copying.
func (r *reader) bytesView(bin bool, max uint64) ([]byte, error) {
	n, ok, err := r.strLen(bin)
	if !ok {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, max)
	}
	return r.next(n)
}

// key reads a map key; keys are strings. The result aliases the input.
func (r *reader) key() ([]byte, error) { return r.bytesView(false, maxStrLen) }

// str reads a string (or nil) of at most max bytes.
func (r *reader) str(max uint64) (string, error) {
	p, err := r.bytesView(false, max)
	return string(p), err
}

// bin appends the content of a bin or str value (or nil) of at most max
// bytes to dst.
func (r *reader) bin(dst []byte, max uint64) ([]byte, error) {
	p, err := r.bytesView(true, max)
	return append(dst, p...), err
}

// uint reads a non-negative integer of any width, or nil as 0.
func (r *reader) uint() (uint64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		return uint64(c), nil
	case c == 0xc0:
		return 0, nil
	case c >= 0xcc && c <= 0xcf:
		return r.be(1 << (c - 0xcc))
	case c >= 0xd0 && c <= 0xd3:
		n := uint64(1) << (c - 0xd0)
		v, err := r.be(n)
		if err == nil && v>>(8*n-1) != 0 {
			err = fmt.Errorf("%w: negative where unsigned expected", ErrMalformed)
		}
		return v, err
	case c >= 0xe0:
		return 0, fmt.Errorf("%w: negative where unsigned expected", ErrMalformed)
	}
	return 0, fmt.Errorf("%w: want integer, got 0x%02x", ErrMalformed, c)
}

// int reads a signed integer of any width, or nil as 0.
func (r *reader) int() (int64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c == 0xc0:
		return 0, nil
	case c >= 0xcc && c <= 0xcf:
		v, err := r.be(1 << (c - 0xcc))
		if err == nil && v > math.MaxInt64 {
			err = fmt.Errorf("%w: integer overflows int64", ErrMalformed)
		}
		return int64(v), err
	case c >= 0xd0 && c <= 0xd3:
		n := uint64(1) << (c - 0xd0)
		v, err := r.be(n)
		shift := 64 - 8*n // sign-extend from n bytes
		return int64(v<<shift) >> shift, err
	}
	return 0, fmt.Errorf("%w: want integer, got 0x%02x", ErrMalformed, c)
}

// skip skips one value of any type. It is iterative: a count of values still
// to skip replaces recursion, so deep nesting cannot exhaust the stack, and
// every value takes at least one byte, which bounds the count by the input.
func (r *reader) skip() error {
	for pending := uint64(1); pending > 0; pending-- {
		c, err := r.byte()
		if err != nil {
			return err
		}
		var size, items uint64 // bytes to skip, nested values to add
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c&0xf0 == 0x80:
			items = 2 * uint64(c&0x0f)
		case c&0xf0 == 0x90:
			items = uint64(c & 0x0f)
		case c&0xe0 == 0xa0:
			size = uint64(c & 0x1f)
		case c == 0xc4, c == 0xd9:
			size, err = r.be(1)
		case c == 0xc5, c == 0xda:
			size, err = r.be(2)
		case c == 0xc6, c == 0xdb:
			size, err = r.be(4)
		case c == 0xc7, c == 0xc8, c == 0xc9: // ext 8/16/32: length, type, data
			size, err = r.be(1 << (c - 0xc7))
			size++
		case c == 0xca:
			size = 4
		case c == 0xcb:
			size = 8
		case c >= 0xcc && c <= 0xcf:
			size = 1 << (c - 0xcc)
		case c >= 0xd0 && c <= 0xd3:
			size = 1 << (c - 0xd0)
		case c >= 0xd4 && c <= 0xd8: // fixext 1/2/4/8/16: type, data
			size = 1 + 1<<(c-0xd4)
		case c == 0xdc:
			items, err = r.be(2)
		case c == 0xdd:
			items, err = r.be(4)
		case c == 0xde:
			items, err = r.be(2)
			items *= 2
		case c == 0xdf:
			items, err = r.be(4)
			items *= 2
		default: // 0xc1 is never used
			return fmt.Errorf("%w: invalid byte 0x%02x", ErrMalformed, c)
		}
		if err != nil {
			return err
		}
		if _, err := r.next(size); err != nil {
			return err
		}
		pending += items
		if pending-1 > uint64(r.left()) {
			return fmt.Errorf("%w: %d values in %d bytes", ErrMalformed, pending-1, r.left())
		}
	}
	return nil
}
