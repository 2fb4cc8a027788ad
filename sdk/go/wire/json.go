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
		dst = jsonAppendData(dst, f.Data)
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
	if f.ContentType != "" {
		dst = jsonAppendString(append(dst, `,"ct":`...), f.ContentType)
	}
	if f.ReplyTo != 0 {
		dst = strconv.AppendUint(append(dst, `,"rt":`...), f.ReplyTo, 10)
	}
	if len(f.Attachments) != 0 {
		dst = jsonAppendObjects(append(dst, `,"at":`...), f.Attachments, jsonAttachmentMembers)
	}
	if f.Kind != 0 {
		dst = strconv.AppendUint(append(dst, `,"k":`...), uint64(f.Kind), 10)
	}
	if f.Stop {
		dst = append(dst, `,"st":true`...)
	}
	if f.Before != 0 {
		dst = strconv.AppendUint(append(dst, `,"hb":`...), f.Before, 10)
	}
	if f.Since != 0 {
		dst = strconv.AppendUint(append(dst, `,"ha":`...), f.Since, 10)
	}
	if f.Around != 0 {
		dst = strconv.AppendUint(append(dst, `,"hr":`...), f.Around, 10)
	}
	if f.Limit != 0 {
		dst = strconv.AppendUint(append(dst, `,"n":`...), uint64(f.Limit), 10)
	}
	if f.Oldest {
		dst = append(dst, `,"o":true`...)
	}
	if f.More {
		dst = append(dst, `,"mo":true`...)
	}
	if len(f.Messages) != 0 {
		dst = jsonAppendObjects(append(dst, `,"ms":`...), f.Messages, jsonMessageMembers)
	}
	if len(f.Reactions) != 0 {
		dst = jsonAppendObjects(append(dst, `,"rx":`...), f.Reactions, jsonReactionMembers)
	}
	if len(f.Users) != 0 {
		dst = append(dst, `,"us":[`...)
		for i, u := range f.Users {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonAppendString(dst, u)
		}
		dst = append(dst, ']')
	}
	if len(f.Presences) != 0 {
		dst = jsonAppendObjects(append(dst, `,"ps":`...), f.Presences, jsonPresenceMembers)
	}
	if f.CallID != "" {
		dst = jsonAppendString(append(dst, `,"cid":`...), f.CallID)
	}
	if f.To != "" {
		dst = jsonAppendString(append(dst, `,"to":`...), f.To)
	}
	if f.Mid != "" {
		dst = jsonAppendString(append(dst, `,"mid":`...), f.Mid)
	}
	if f.SFU {
		dst = append(dst, `,"sf":true`...)
	}
	if f.EndReason != 0 {
		dst = strconv.AppendUint(append(dst, `,"er":`...), uint64(f.EndReason), 10)
	}
	return append(dst, '}')
}

// jsonAppendData appends the member ,"d":"…" when data is valid UTF-8 and
// ,"d64":"…" (standard padded base64) otherwise.
func jsonAppendData(dst, data []byte) []byte {
	if utf8.Valid(data) {
		dst = jsonAppendEscaped(append(dst, `,"d":"`...), data)
	} else {
		dst = base64.StdEncoding.AppendEncode(append(dst, `,"d64":"`...), data)
	}
	return append(dst, '"')
}

// jsonCloseObject finishes a nested object whose members, from start on,
// were each written with a leading comma: the first comma becomes the
// opening brace.
func jsonCloseObject(dst []byte, start int) []byte {
	if len(dst) == start {
		return append(dst, '{', '}')
	}
	dst[start] = '{'
	return append(dst, '}')
}

// jsonAppendObjects appends xs as an array of objects; members appends an
// element's members, each with a leading comma.
func jsonAppendObjects[T any](dst []byte, xs []T, members func([]byte, *T) []byte) []byte {
	dst = append(dst, '[')
	for i := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		start := len(dst)
		dst = jsonCloseObject(members(dst, &xs[i]), start)
	}
	return append(dst, ']')
}

func jsonMessageMembers(dst []byte, m *Message) []byte {
	if m.Seq != 0 {
		dst = strconv.AppendUint(append(dst, `,"s":`...), m.Seq, 10)
	}
	if m.From != "" {
		dst = jsonAppendString(append(dst, `,"f":`...), m.From)
	}
	if m.MsgID != "" {
		dst = jsonAppendString(append(dst, `,"m":`...), m.MsgID)
	}
	if m.ContentType != "" {
		dst = jsonAppendString(append(dst, `,"ct":`...), m.ContentType)
	}
	if len(m.Data) != 0 {
		dst = jsonAppendData(dst, m.Data)
	}
	if m.ReplyTo != 0 {
		dst = strconv.AppendUint(append(dst, `,"rt":`...), m.ReplyTo, 10)
	}
	if len(m.Attachments) != 0 {
		dst = jsonAppendObjects(append(dst, `,"at":`...), m.Attachments, jsonAttachmentMembers)
	}
	if m.Time != 0 {
		dst = strconv.AppendInt(append(dst, `,"ts":`...), m.Time, 10)
	}
	if m.Edited != 0 {
		dst = strconv.AppendInt(append(dst, `,"et":`...), m.Edited, 10)
	}
	if m.Deleted {
		dst = append(dst, `,"x":true`...)
	}
	if m.Pinned {
		dst = append(dst, `,"p":true`...)
	}
	if len(m.Reactions) != 0 {
		dst = jsonAppendObjects(append(dst, `,"rx":`...), m.Reactions, jsonReactionMembers)
	}
	return dst
}

func jsonAttachmentMembers(dst []byte, a *Attachment) []byte {
	if a.URL != "" {
		dst = jsonAppendString(append(dst, `,"url":`...), a.URL)
	}
	if a.Mime != "" {
		dst = jsonAppendString(append(dst, `,"mime":`...), a.Mime)
	}
	if a.Size != 0 {
		dst = strconv.AppendInt(append(dst, `,"size":`...), a.Size, 10)
	}
	if a.Name != "" {
		dst = jsonAppendString(append(dst, `,"name":`...), a.Name)
	}
	return dst
}

func jsonReactionMembers(dst []byte, x *Reaction) []byte {
	if x.Emoji != "" {
		dst = jsonAppendString(append(dst, `,"e":`...), x.Emoji)
	}
	if x.Count != 0 {
		dst = strconv.AppendUint(append(dst, `,"n":`...), uint64(x.Count), 10)
	}
	return dst
}

func jsonPresenceMembers(dst []byte, p *Presence) []byte {
	if p.User != "" {
		dst = jsonAppendString(append(dst, `,"u":`...), p.User)
	}
	if p.Kind != 0 {
		dst = strconv.AppendUint(append(dst, `,"k":`...), uint64(p.Kind), 10)
	}
	if p.LastSeen != 0 {
		dst = strconv.AppendInt(append(dst, `,"ts":`...), p.LastSeen, 10)
	}
	if p.Status != "" {
		dst = jsonAppendString(append(dst, `,"tx":`...), p.Status)
	}
	if p.Invisible {
		dst = append(dst, `,"iv":true`...)
	}
	return dst
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
