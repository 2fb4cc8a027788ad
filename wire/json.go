package wire

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

type jsonCodec struct{}

func (jsonCodec) Subprotocol() string { return SubprotocolJSON }
func (jsonCodec) Binary() bool        { return false }

// Append writes f as a JSON object in canonical form: no whitespace, keys in
// declaration order, zero fields omitted, integers in decimal, Data as "d"
// when it is valid UTF-8 and as standard padded base64 "d64" otherwise.
func (jsonCodec) Append(dst []byte, f *Frame) []byte {
	dst = append(dst, `{"t":`...)
	dst = strconv.AppendUint(dst, uint64(f.Type), 10)
	if f.ID != 0 {
		dst = strconv.AppendUint(append(dst, `,"i":`...), uint64(f.ID), 10)
	}
	if f.Channel != "" {
		dst = jsonAppendString(append(dst, `,"c":`...), f.Channel)
	}
	if len(f.Data) != 0 {
		if utf8.Valid(f.Data) {
			dst = jsonAppendEscaped(append(dst, `,"d":"`...), f.Data)
			dst = append(dst, '"')
		} else {
			dst = base64.StdEncoding.AppendEncode(append(dst, `,"d64":"`...), f.Data)
			dst = append(dst, '"')
		}
	}
	if f.Seq != 0 {
		dst = strconv.AppendUint(append(dst, `,"s":`...), f.Seq, 10)
	}
	if f.MsgID != "" {
		dst = jsonAppendString(append(dst, `,"m":`...), f.MsgID)
	}
	if f.From != "" {
		dst = jsonAppendString(append(dst, `,"f":`...), f.From)
	}
	if f.Time != 0 {
		dst = strconv.AppendInt(append(dst, `,"ts":`...), f.Time, 10)
	}
	if f.Code != 0 {
		dst = strconv.AppendUint(append(dst, `,"e":`...), uint64(f.Code), 10)
	}
	if f.Reason != "" {
		dst = jsonAppendString(append(dst, `,"r":`...), f.Reason)
	}
	if f.Session != "" {
		dst = jsonAppendString(append(dst, `,"sid":`...), f.Session)
	}
	if f.User != "" {
		dst = jsonAppendString(append(dst, `,"u":`...), f.User)
	}
	if f.Client != "" {
		dst = jsonAppendString(append(dst, `,"cl":`...), f.Client)
	}
	if f.After != 0 {
		dst = strconv.AppendUint(append(dst, `,"a":`...), uint64(f.After), 10)
	}
	if f.Limits != (Limits{}) {
		dst = append(dst, `,"l":{`...)
		first := true
		for i, p := range f.Limits.fields() {
			if *p == 0 {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(append(append(dst, '"'), limitKeys[i]...), `":`...)
			dst = strconv.AppendUint(dst, uint64(*p), 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// jsonAppendString appends s as a quoted JSON string. Invalid UTF-8 is
// replaced by U+FFFD, as encoding/json does; strings on the wire are UTF-8.
func jsonAppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	if utf8.ValidString(s) {
		dst = jsonAppendEscaped(dst, s)
	} else {
		for len(s) > 0 {
			r, size := utf8.DecodeRuneInString(s)
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = jsonAppendEscaped(dst, s[:size])
			}
			s = s[size:]
		}
	}
	return append(dst, '"')
}

// jsonAppendEscaped appends valid UTF-8 s with the escapes RFC 8259
// requires and no others: \" \\ and \u00XX (lower-case hex) for U+0000 to
// U+001F. Everything else, non-ASCII included, is copied as is.
func jsonAppendEscaped[S string | []byte](dst []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}
