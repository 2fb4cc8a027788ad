package salam

import (
	"time"

	"github.com/salamhq/salam/sdk/go/wire"
)

// Attachment is metadata of a file in object storage; Reaction is the count
// of one emoji. Both are the protocol's own types.
type (
	Attachment = wire.Attachment
	Reaction   = wire.Reaction
)

// Message is one chat message: delivered live, replayed on resume, filled in
// from history after a gap, or read from a history page.
type Message struct {
	Channel     string
	Seq         uint64 // its sequence in the channel, from 1
	From        string // sender's user id
	MsgID       string // the sender's client message id
	ContentType string // empty means text/plain
	Data        []byte
	ReplyTo     uint64 // sequence of the message this one answers
	Attachments []Attachment
	Time        time.Time // when it was sent
	Edited      time.Time // history only: last edit; zero = never
	Deleted     bool      // history only: a tombstone, the body is gone
	Pinned      bool      // history only
	Reactions   []Reaction
}

// UpdateKind says what changed about an earlier message, or who left.
type UpdateKind uint8

// Update kinds, equal to the event kinds of PROTOCOL.md §4 (8).
const (
	Edited     UpdateKind = UpdateKind(wire.EventEdited)     // Seq's content is now ContentType, Data
	Deleted    UpdateKind = UpdateKind(wire.EventDeleted)    // Seq became a tombstone
	Reacted    UpdateKind = UpdateKind(wire.EventReactions)  // Seq's reaction counts are now Reactions
	Pinned     UpdateKind = UpdateKind(wire.EventPinned)     // Seq was pinned
	Unpinned   UpdateKind = UpdateKind(wire.EventUnpinned)   // Seq was unpinned
	MemberLeft UpdateKind = UpdateKind(wire.EventMemberLeft) // From left the channel (if it is you, the subscription ended)
)

// Update is a change to an earlier message of a subscribed channel, or a
// member leaving it. Kinds unknown to this SDK version are not delivered.
type Update struct {
	Channel     string
	Kind        UpdateKind
	Seq         uint64 // the message concerned
	From        string // who made the change
	Time        time.Time
	ContentType string     // Edited
	Data        []byte     // Edited
	Reactions   []Reaction // Reacted
}

// Typing is a user starting (Stop false) or stopping to type in a channel.
// A start not refreshed within Config.TypingExpiry is followed by a stop the
// SDK makes up, so a lost stop never leaves a user typing.
type Typing struct {
	Channel string
	User    string
	Stop    bool
}

// ReceiptKind is which cursor a receipt moved.
type ReceiptKind uint8

const (
	Delivered ReceiptKind = ReceiptKind(wire.ReceiptDelivered) // every message up to Seq reached one of User's devices
	Read      ReceiptKind = ReceiptKind(wire.ReceiptRead)      // User read every message up to Seq
)

// Receipt is a user's delivered or read cursor moving forward.
type Receipt struct {
	Channel string
	User    string
	Seq     uint64
	Kind    ReceiptKind
}

// PresenceChange is a user coming online or going offline. The server sends
// one per shared channel; the SDK delivers a change once.
type PresenceChange struct {
	Channel  string // the first channel it arrived on
	User     string
	Online   bool
	LastSeen time.Time // offline: when last seen; zero = not known
}

// Presence is one user's state, from QueryPresence.
type Presence struct {
	User      string
	Online    bool
	LastSeen  time.Time // offline: when last seen, zero when unknown
	Status    string    // status text the user set
	Invisible bool      // only in your own entry: you appear offline to others
}

// State is the state of the client's connection.
type State uint8

const (
	Disconnected State = iota // not connected; a reconnect is scheduled
	Connecting                // dialing and exchanging connect/connected
	Connected                 // connected; subscriptions are being restored or live
	Closed                    // Close was called, or the server refused for good
)

func (s State) String() string {
	return [...]string{"disconnected", "connecting", "connected", "closed"}[s]
}

// Session is what the server said in connected.
type Session struct {
	ID     string
	User   string // your user id, from the token
	Limits wire.Limits
}

// Publication is a message to publish.
type Publication struct {
	// ID is the client message id, the idempotency key (at most 64 bytes).
	// Empty: the SDK makes one (NewMessageID). Set it yourself to keep a
	// send idempotent across restarts of your app (an outbox).
	ID          string
	Data        []byte
	ContentType string // empty means text/plain
	ReplyTo     uint64
	Attachments []Attachment
}

// Ack is the server's receipt of a stored message.
type Ack struct {
	ID   string // the client message id used
	Seq  uint64 // the message's sequence in its channel
	Time time.Time
}

// HistoryQuery selects a page of a channel's messages: at most one of
// Before, After and Around. No cursor means the newest messages (the first
// ones with Oldest).
type HistoryQuery struct {
	Before uint64 // messages with sequence < Before (scrolling back)
	After  uint64 // messages with sequence > After (catching up)
	Around uint64 // messages centred on Around
	Limit  int    // 1–200; 0 means the server's 50
	Oldest bool   // order the page oldest-first (default newest-first)
}

// Page is a page of history.
type Page struct {
	Messages []Message
	More     bool // more messages exist beyond the page, in the cursor's direction
}

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// messageOf converts a history message.
func messageOf(channel string, m *wire.Message) Message {
	return Message{Channel: channel, Seq: m.Seq, From: m.From, MsgID: m.MsgID, ContentType: m.ContentType,
		Data: m.Data, ReplyTo: m.ReplyTo, Attachments: m.Attachments, Time: millis(m.Time),
		Edited: millis(m.Edited), Deleted: m.Deleted, Pinned: m.Pinned, Reactions: m.Reactions}
}

func presenceOf(p *wire.Presence) Presence {
	return Presence{User: p.User, Online: p.Kind == wire.PresenceOnline, LastSeen: millis(p.LastSeen),
		Status: p.Status, Invisible: p.Invisible}
}
