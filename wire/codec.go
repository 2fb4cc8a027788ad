package wire

import "fmt"

// Codec encodes and decodes frames for one subprotocol. Both codecs carry the
// same envelope with the same keys; PROTOCOL.md fixes the canonical bytes.
// Codecs are stateless and safe for concurrent use.
type Codec interface {
	// Subprotocol returns SubprotocolMsgpack or SubprotocolJSON.
	Subprotocol() string
	// Binary reports whether frames travel as WebSocket binary messages
	// (msgpack) rather than text messages (JSON).
	Binary() bool
	// Append appends the canonical encoding of f to dst and returns the
	// extended slice. It does not allocate when dst has enough capacity.
	Append(dst []byte, f *Frame) []byte
	// Decode decodes exactly one envelope from data into f, which it resets
	// first. f never aliases data afterwards: Data is copied into the
	// capacity f.Data already had, strings are copies. Errors wrap
	// ErrMalformed or ErrTooLarge, and leave f partly filled. Decode never
	// panics, whatever data holds.
	Decode(data []byte, f *Frame) error
}

// The codecs of protocol v1.
var (
	Msgpack Codec = msgpackCodec{} // SubprotocolMsgpack
	JSON    Codec = jsonCodec{}    // SubprotocolJSON
)

// CodecFor returns the codec of a negotiated subprotocol.
func CodecFor(subprotocol string) (Codec, bool) {
	switch subprotocol {
	case SubprotocolMsgpack:
		return Msgpack, true
	case SubprotocolJSON:
		return JSON, true
	}
	return nil, false
}

// Decoder bounds. They protect the edge from hostile input and are part of
// the protocol: PROTOCOL.md states them so that SDK decoders agree.
const (
	// MaxKeys is the largest number of entries any map (the envelope, "l",
	// a message, an attachment, a reaction, a presence) may declare; more
	// is ErrTooLarge. v1 defines 35 envelope keys.
	MaxKeys = 64
	// MaxDepth is the deepest nesting of maps and arrays inside skipped
	// unknown values; deeper is ErrMalformed.
	MaxDepth = 32
	// MaxMessages is the longest "ms" array (messages in one page); longer
	// is ErrTooLarge. History pages hold at most 200.
	MaxMessages = 1000
	// MaxAttachments is the longest "at" array, of a frame or of a message;
	// longer is ErrTooLarge.
	MaxAttachments = 32
	// MaxReactions is the longest "rx" array, of a frame or of a message;
	// longer is ErrTooLarge.
	MaxReactions = 64
	// MaxUsers is the longest "us" or "ps" array (users in one presence
	// query or its answer); longer is ErrTooLarge. Servers answer far fewer
	// (100 by default) with CodeTooManyUsers: this bound only protects
	// decoders.
	MaxUsers = 1000
)

// Envelope keys, in canonical order.
const (
	keyType    = "t"
	keyID      = "i"
	keyChannel = "c"
	keyData    = "d"
	keyData64  = "d64" // JSON only: Data that is not valid UTF-8, standard base64
	keySeq     = "s"
	keyMsgID   = "m"
	keyFrom    = "f"
	keyTime    = "ts"
	keyCode    = "e"
	keyReason  = "r"
	keySession = "sid"
	keyUser    = "u"
	keyClient  = "cl"
	keyAfter   = "a"
	keyLimits  = "l"

	keyContentType = "ct"
	keyReplyTo     = "rt"
	keyAttachments = "at"
	keyKind        = "k"
	keyStop        = "st"
	keyBefore      = "hb"
	keySince       = "ha"
	keyAround      = "hr"
	keyLimit       = "n"
	keyOldest      = "o"
	keyMore        = "mo"
	keyMessages    = "ms"
	keyReactions   = "rx"
	keyUsers       = "us"
	keyPresences   = "ps"
	keyCallID      = "cid"
	keyTo          = "to"
	keyMid         = "mid"
	keySFU         = "sf"
	keyEndReason   = "er"

	// Message keys besides those it shares with the envelope (s f m ct d
	// rt at ts rx).
	keyEdited  = "et"
	keyDeleted = "x"
	keyPinned  = "p"

	keyURL  = "url"
	keyMime = "mime"
	keySize = "size"
	keyName = "name"

	keyEmoji = "e"
	keyCount = "n"

	// Presence keys besides those it shares with the envelope (u k ts).
	keyStatus    = "tx"
	keyInvisible = "iv"

	keyMaxFrame      = "mf"
	keyPublishRate   = "pr"
	keyPublishBurst  = "pb"
	keyPingInterval  = "pi"
	keyMaxSubscribed = "ms"
)

// field identifies a known key while decoding; its bit in a uint32 set
// detects duplicates.
type field uint8

const (
	fieldUnknown field = iota
	fieldType
	fieldID
	fieldChannel
	fieldData
	fieldData64
	fieldSeq
	fieldMsgID
	fieldFrom
	fieldTime
	fieldCode
	fieldReason
	fieldSession
	fieldUser
	fieldClient
	fieldAfter
	fieldLimits
	fieldContentType
	fieldReplyTo
	fieldAttachments
	fieldKind
	fieldStop
	fieldBefore
	fieldSince
	fieldAround
	fieldLimit
	fieldOldest
	fieldMore
	fieldMessages
	fieldReactions
	fieldUsers
	fieldPresences
	fieldCallID
	fieldTo
	fieldMid
	fieldSFU
	fieldEndReason
)

// lookupField maps an envelope key to its field without allocating.
// d64 is a key of the JSON codec only.
func lookupField(key []byte, withD64 bool) field {
	switch string(key) { // no allocation: the compiler compares in place
	case keyType:
		return fieldType
	case keyID:
		return fieldID
	case keyChannel:
		return fieldChannel
	case keyData:
		return fieldData
	case keyData64:
		if withD64 {
			return fieldData64
		}
	case keySeq:
		return fieldSeq
	case keyMsgID:
		return fieldMsgID
	case keyFrom:
		return fieldFrom
	case keyTime:
		return fieldTime
	case keyCode:
		return fieldCode
	case keyReason:
		return fieldReason
	case keySession:
		return fieldSession
	case keyUser:
		return fieldUser
	case keyClient:
		return fieldClient
	case keyAfter:
		return fieldAfter
	case keyLimits:
		return fieldLimits
	case keyContentType:
		return fieldContentType
	case keyReplyTo:
		return fieldReplyTo
	case keyAttachments:
		return fieldAttachments
	case keyKind:
		return fieldKind
	case keyStop:
		return fieldStop
	case keyBefore:
		return fieldBefore
	case keySince:
		return fieldSince
	case keyAround:
		return fieldAround
	case keyLimit:
		return fieldLimit
	case keyOldest:
		return fieldOldest
	case keyMore:
		return fieldMore
	case keyMessages:
		return fieldMessages
	case keyReactions:
		return fieldReactions
	case keyUsers:
		return fieldUsers
	case keyPresences:
		return fieldPresences
	case keyCallID:
		return fieldCallID
	case keyTo:
		return fieldTo
	case keyMid:
		return fieldMid
	case keySFU:
		return fieldSFU
	case keyEndReason:
		return fieldEndReason
	}
	return fieldUnknown
}

// msgField identifies a known key of a Message while decoding.
type msgField uint8

const (
	msgUnknown msgField = iota
	msgSeq
	msgFrom
	msgMsgID
	msgContentType
	msgData
	msgData64
	msgReplyTo
	msgAttachments
	msgTime
	msgEdited
	msgDeleted
	msgPinned
	msgReactions
)

// lookupMsgField maps a Message key to its field; d64 is JSON only.
func lookupMsgField(key []byte, withD64 bool) msgField {
	switch string(key) {
	case keySeq:
		return msgSeq
	case keyFrom:
		return msgFrom
	case keyMsgID:
		return msgMsgID
	case keyContentType:
		return msgContentType
	case keyData:
		return msgData
	case keyData64:
		if withD64 {
			return msgData64
		}
	case keyReplyTo:
		return msgReplyTo
	case keyAttachments:
		return msgAttachments
	case keyTime:
		return msgTime
	case keyEdited:
		return msgEdited
	case keyDeleted:
		return msgDeleted
	case keyPinned:
		return msgPinned
	case keyReactions:
		return msgReactions
	}
	return msgUnknown
}

// attachmentIndex returns 0–3 for url, mime, size, name, or -1.
func attachmentIndex(key []byte) int {
	switch string(key) {
	case keyURL:
		return 0
	case keyMime:
		return 1
	case keySize:
		return 2
	case keyName:
		return 3
	}
	return -1
}

// presenceIndex returns 0–4 for u, k, ts, tx, iv, or -1.
func presenceIndex(key []byte) int {
	switch string(key) {
	case keyUser:
		return 0
	case keyKind:
		return 1
	case keyTime:
		return 2
	case keyStatus:
		return 3
	case keyInvisible:
		return 4
	}
	return -1
}

// reactionIndex returns 0 for e, 1 for n, or -1.
func reactionIndex(key []byte) int {
	switch string(key) {
	case keyEmoji:
		return 0
	case keyCount:
		return 1
	}
	return -1
}

// limitKeys are the keys of Limits in canonical order; fields returns
// pointers to the fields in the same order.
var limitKeys = [...]string{keyMaxFrame, keyPublishRate, keyPublishBurst, keyPingInterval, keyMaxSubscribed}

func (l *Limits) fields() [len(limitKeys)]*uint32 {
	return [...]*uint32{&l.MaxFrame, &l.PublishRate, &l.PublishBurst, &l.PingInterval, &l.MaxSubscribed}
}

// limitIndex returns the index in limitKeys of key, or -1.
func limitIndex(key []byte) int {
	switch string(key) {
	case keyMaxFrame:
		return 0
	case keyPublishRate:
		return 1
	case keyPublishBurst:
		return 2
	case keyPingInterval:
		return 3
	case keyMaxSubscribed:
		return 4
	}
	return -1
}

// fieldCount returns how many envelope keys a canonical encoding of f writes.
func fieldCount(f *Frame) int {
	n := 1 // "t" is always written
	for _, nonzero := range [...]bool{f.ID != 0, f.Channel != "", len(f.Data) != 0,
		f.Seq != 0, f.MsgID != "", f.From != "", f.Time != 0, f.Code != 0, f.Reason != "",
		f.Session != "", f.User != "", f.Client != "", f.After != 0, f.Limits != (Limits{}),
		f.ContentType != "", f.ReplyTo != 0, len(f.Attachments) != 0, f.Kind != 0, f.Stop,
		f.Before != 0, f.Since != 0, f.Around != 0, f.Limit != 0, f.Oldest, f.More,
		len(f.Messages) != 0, len(f.Reactions) != 0, len(f.Users) != 0, len(f.Presences) != 0,
		f.CallID != "", f.To != "", f.Mid != "", f.SFU, f.EndReason != 0} {
		if nonzero {
			n++
		}
	}
	return n
}

// messageCount returns how many keys a canonical encoding of m writes.
func messageCount(m *Message) int {
	n := 0
	for _, nonzero := range [...]bool{m.Seq != 0, m.From != "", m.MsgID != "", m.ContentType != "",
		len(m.Data) != 0, m.ReplyTo != 0, len(m.Attachments) != 0, m.Time != 0, m.Edited != 0,
		m.Deleted, m.Pinned, len(m.Reactions) != 0} {
		if nonzero {
			n++
		}
	}
	return n
}

// attachmentCount returns how many keys a canonical encoding of a writes.
func attachmentCount(a *Attachment) int {
	n := 0
	for _, nonzero := range [...]bool{a.URL != "", a.Mime != "", a.Size != 0, a.Name != ""} {
		if nonzero {
			n++
		}
	}
	return n
}

// reactionCount returns how many keys a canonical encoding of x writes.
func reactionCount(x *Reaction) int {
	n := 0
	if x.Emoji != "" {
		n++
	}
	if x.Count != 0 {
		n++
	}
	return n
}

// presenceCount returns how many keys a canonical encoding of p writes.
func presenceCount(p *Presence) int {
	n := 0
	for _, nonzero := range [...]bool{p.User != "", p.Kind != 0, p.LastSeen != 0, p.Status != "", p.Invisible} {
		if nonzero {
			n++
		}
	}
	return n
}

// limitCount returns how many keys a canonical encoding of l writes.
func limitCount(l *Limits) int {
	n := 0
	for _, p := range l.fields() {
		if *p != 0 {
			n++
		}
	}
	return n
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrTooLarge}, args...)...)
}
