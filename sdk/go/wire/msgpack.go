package wire

// MessagePack format codes used by the codec. They equal the variables of
// github.com/vmihailenco/msgpack/v5/msgpcode (a test checks); constants let
// the compiler build jump tables in the decoder.
const (
	mpPosFixMax  = 0x7f
	mpFixMap     = 0x80
	mpFixArray   = 0x90
	mpFixStr     = 0xa0
	mpNil        = 0xc0
	mpFalse      = 0xc2
	mpTrue       = 0xc3
	mpBin8       = 0xc4
	mpBin16      = 0xc5
	mpBin32      = 0xc6
	mpExt8       = 0xc7
	mpExt16      = 0xc8
	mpExt32      = 0xc9
	mpFloat32    = 0xca
	mpFloat64    = 0xcb
	mpUint8      = 0xcc
	mpUint16     = 0xcd
	mpUint32     = 0xce
	mpUint64     = 0xcf
	mpInt8       = 0xd0
	mpInt16      = 0xd1
	mpInt32      = 0xd2
	mpInt64      = 0xd3
	mpFixExt1    = 0xd4
	mpFixExt2    = 0xd5
	mpFixExt4    = 0xd6
	mpFixExt8    = 0xd7
	mpFixExt16   = 0xd8
	mpStr8       = 0xd9
	mpStr16      = 0xda
	mpStr32      = 0xdb
	mpArray16    = 0xdc
	mpArray32    = 0xdd
	mpMap16      = 0xde
	mpMap32      = 0xdf
	mpNegFixMin  = 0xe0
	mpFixMaxLen  = 15 // fixmap and fixarray
	mpFixStrMax  = 31
	mpFixStrMask = 0x1f
	mpFixMask    = 0x0f
)

type msgpackCodec struct{}

func (msgpackCodec) Subprotocol() string { return SubprotocolMsgpack }
func (msgpackCodec) Binary() bool        { return true }

// Append writes f as a msgpack map in canonical form: keys in declaration
// order, zero fields omitted, every integer, string and bin in its smallest
// representation.
func (msgpackCodec) Append(dst []byte, f *Frame) []byte {
	dst = mpAppendMapLen(dst, fieldCount(f))
	dst = mpAppendUint(mpAppendStr(dst, keyType), uint64(f.Type))
	if f.ID != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyID), uint64(f.ID))
	}
	if f.Channel != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyChannel), f.Channel)
	}
	if len(f.Data) != 0 {
		dst = mpAppendBin(mpAppendStr(dst, keyData), f.Data)
	}
	if f.Seq != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keySeq), f.Seq)
	}
	if f.MsgID != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyMsgID), f.MsgID)
	}
	if f.From != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyFrom), f.From)
	}
	if f.Time != 0 {
		dst = mpAppendInt(mpAppendStr(dst, keyTime), f.Time)
	}
	if f.Code != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyCode), uint64(f.Code))
	}
	if f.Reason != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyReason), f.Reason)
	}
	if f.Session != "" {
		dst = mpAppendStr(mpAppendStr(dst, keySession), f.Session)
	}
	if f.User != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyUser), f.User)
	}
	if f.Client != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyClient), f.Client)
	}
	if f.After != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyAfter), uint64(f.After))
	}
	if f.Limits != (Limits{}) {
		dst = mpAppendLimits(mpAppendStr(dst, keyLimits), &f.Limits)
	}
	if f.ContentType != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyContentType), f.ContentType)
	}
	if f.ReplyTo != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyReplyTo), f.ReplyTo)
	}
	if len(f.Attachments) != 0 {
		dst = mpAppendMaps(mpAppendStr(dst, keyAttachments), f.Attachments, attachmentCount, mpAttachmentMembers)
	}
	if f.Kind != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyKind), uint64(f.Kind))
	}
	if f.Stop {
		dst = append(mpAppendStr(dst, keyStop), mpTrue)
	}
	if f.Before != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyBefore), f.Before)
	}
	if f.Since != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keySince), f.Since)
	}
	if f.Around != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyAround), f.Around)
	}
	if f.Limit != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyLimit), uint64(f.Limit))
	}
	if f.Oldest {
		dst = append(mpAppendStr(dst, keyOldest), mpTrue)
	}
	if f.More {
		dst = append(mpAppendStr(dst, keyMore), mpTrue)
	}
	if len(f.Messages) != 0 {
		dst = mpAppendMaps(mpAppendStr(dst, keyMessages), f.Messages, messageCount, mpMessageMembers)
	}
	if len(f.Reactions) != 0 {
		dst = mpAppendMaps(mpAppendStr(dst, keyReactions), f.Reactions, reactionCount, mpReactionMembers)
	}
	if len(f.Users) != 0 {
		dst = mpAppendArrayLen(mpAppendStr(dst, keyUsers), len(f.Users))
		for _, u := range f.Users {
			dst = mpAppendStr(dst, u)
		}
	}
	if len(f.Presences) != 0 {
		dst = mpAppendMaps(mpAppendStr(dst, keyPresences), f.Presences, presenceCount, mpPresenceMembers)
	}
	if f.CallID != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyCallID), f.CallID)
	}
	if f.To != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyTo), f.To)
	}
	if f.Mid != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyMid), f.Mid)
	}
	if f.SFU {
		dst = append(mpAppendStr(dst, keySFU), mpTrue)
	}
	if f.EndReason != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyEndReason), uint64(f.EndReason))
	}
	return dst
}

// mpAppendMaps appends xs as an array of maps: count says how many keys an
// element writes, members writes them.
func mpAppendMaps[T any](dst []byte, xs []T, count func(*T) int, members func([]byte, *T) []byte) []byte {
	dst = mpAppendArrayLen(dst, len(xs))
	for i := range xs {
		dst = members(mpAppendMapLen(dst, count(&xs[i])), &xs[i])
	}
	return dst
}

func mpMessageMembers(dst []byte, m *Message) []byte {
	if m.Seq != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keySeq), m.Seq)
	}
	if m.From != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyFrom), m.From)
	}
	if m.MsgID != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyMsgID), m.MsgID)
	}
	if m.ContentType != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyContentType), m.ContentType)
	}
	if len(m.Data) != 0 {
		dst = mpAppendBin(mpAppendStr(dst, keyData), m.Data)
	}
	if m.ReplyTo != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyReplyTo), m.ReplyTo)
	}
	if len(m.Attachments) != 0 {
		dst = mpAppendMaps(mpAppendStr(dst, keyAttachments), m.Attachments, attachmentCount, mpAttachmentMembers)
	}
	if m.Time != 0 {
		dst = mpAppendInt(mpAppendStr(dst, keyTime), m.Time)
	}
	if m.Edited != 0 {
		dst = mpAppendInt(mpAppendStr(dst, keyEdited), m.Edited)
	}
	if m.Deleted {
		dst = append(mpAppendStr(dst, keyDeleted), mpTrue)
	}
	if m.Pinned {
		dst = append(mpAppendStr(dst, keyPinned), mpTrue)
	}
	if len(m.Reactions) != 0 {
		dst = mpAppendMaps(mpAppendStr(dst, keyReactions), m.Reactions, reactionCount, mpReactionMembers)
	}
	return dst
}

func mpAttachmentMembers(dst []byte, a *Attachment) []byte {
	if a.URL != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyURL), a.URL)
	}
	if a.Mime != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyMime), a.Mime)
	}
	if a.Size != 0 {
		dst = mpAppendInt(mpAppendStr(dst, keySize), a.Size)
	}
	if a.Name != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyName), a.Name)
	}
	return dst
}

func mpReactionMembers(dst []byte, x *Reaction) []byte {
	if x.Emoji != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyEmoji), x.Emoji)
	}
	if x.Count != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyCount), uint64(x.Count))
	}
	return dst
}

func mpPresenceMembers(dst []byte, p *Presence) []byte {
	if p.User != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyUser), p.User)
	}
	if p.Kind != 0 {
		dst = mpAppendUint(mpAppendStr(dst, keyKind), uint64(p.Kind))
	}
	if p.LastSeen != 0 {
		dst = mpAppendInt(mpAppendStr(dst, keyTime), p.LastSeen)
	}
	if p.Status != "" {
		dst = mpAppendStr(mpAppendStr(dst, keyStatus), p.Status)
	}
	if p.Invisible {
		dst = append(mpAppendStr(dst, keyInvisible), mpTrue)
	}
	return dst
}

func mpAppendLimits(dst []byte, l *Limits) []byte {
	dst = mpAppendMapLen(dst, limitCount(l))
	for i, p := range l.fields() {
		if *p != 0 {
			dst = mpAppendUint(mpAppendStr(dst, limitKeys[i]), uint64(*p))
		}
	}
	return dst
}

// mpAppendMapLen writes a map header in the smallest form. Maps of v1 have
// at most 30 keys: fixmap or map16.
func mpAppendMapLen(dst []byte, n int) []byte {
	if n <= mpFixMaxLen {
		return append(dst, mpFixMap|byte(n))
	}
	return append(dst, mpMap16, byte(n>>8), byte(n))
}

// mpAppendArrayLen writes an array header in the smallest form.
func mpAppendArrayLen(dst []byte, n int) []byte {
	switch {
	case n <= mpFixMaxLen:
		return append(dst, mpFixArray|byte(n))
	case n <= 0xffff:
		return append(dst, mpArray16, byte(n>>8), byte(n))
	}
	return append(dst, mpArray32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func mpAppendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= mpPosFixMax:
		return append(dst, byte(v))
	case v <= 0xff:
		return append(dst, mpUint8, byte(v))
	case v <= 0xffff:
		return append(dst, mpUint16, byte(v>>8), byte(v))
	case v <= 0xffffffff:
		return append(dst, mpUint32, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(dst, mpUint64, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// mpAppendInt writes v >= 0 as an unsigned integer and v < 0 in the smallest
// signed form, as msgpack.Encoder.EncodeInt does.
func mpAppendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0:
		return mpAppendUint(dst, uint64(v))
	case v >= -32:
		return append(dst, byte(v))
	case v >= -1<<7:
		return append(dst, mpInt8, byte(v))
	case v >= -1<<15:
		return append(dst, mpInt16, byte(v>>8), byte(v))
	case v >= -1<<31:
		return append(dst, mpInt32, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(dst, mpInt64, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func mpAppendStr(dst []byte, s string) []byte {
	n := len(s)
	switch {
	case n <= mpFixStrMax:
		dst = append(dst, mpFixStr|byte(n))
	case n <= 0xff:
		dst = append(dst, mpStr8, byte(n))
	case n <= 0xffff:
		dst = append(dst, mpStr16, byte(n>>8), byte(n))
	default:
		dst = append(dst, mpStr32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, s...)
}

func mpAppendBin(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n <= 0xff:
		dst = append(dst, mpBin8, byte(n))
	case n <= 0xffff:
		dst = append(dst, mpBin16, byte(n>>8), byte(n))
	default:
		dst = append(dst, mpBin32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, b...)
}
