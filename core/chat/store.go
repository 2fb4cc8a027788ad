package chat

import (
	"context"
	"errors"
	"time"
)

// Kind is the kind of a channel.
type Kind string

const (
	KindGroup     Kind = "group"     // named channel with members and a member cap
	KindDM        Kind = "dm"        // exactly two members; id derived from the pair (DMChannelID)
	KindBroadcast Kind = "broadcast" // live rooms: unbounded audience; only publishers are members, or nobody needs to be when Open
)

// Role of a member. Banned members stay listed so that they cannot rejoin.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleBanned Role = "banned"
)

// Channel is a conversation: a group, a DM or a broadcast room.
type Channel struct {
	ID        string    // wire.ValidChannel; DMs use DMChannelID
	Kind      Kind      //
	Name      string    // ≤ 128 bytes; empty for DMs
	Topic     string    // ≤ 1024 bytes
	Public    bool      // anyone may join (groups) or subscribe (broadcast)
	Open      bool      // public broadcast only: anyone who may read may also publish, members or not (live rooms)
	MemberCap int       // members allowed, banned excluded; 0 = unbounded (broadcast)
	CreatedBy string    //
	CreatedAt time.Time // UTC, microsecond precision (what Postgres keeps)
	LastSeq   uint64    // highest sequence assigned in the channel; 0 = no message yet
}

// Member is a user's membership of a channel, with its cursors.
type Member struct {
	Channel      string
	User         string
	Role         Role
	JoinedAt     time.Time
	ReadSeq      uint64 // read cursor: the member has read every message up to this sequence
	DeliveredSeq uint64 // delivered cursor: every message up to this sequence reached a device
}

// Attachment is metadata of a file kept in object storage; Salam stores no blobs.
type Attachment struct {
	URL  string `json:"url"`
	Mime string `json:"mime"`
	Size int64  `json:"size"`
	Name string `json:"name,omitempty"`
}

// NewMessage is a message to append. (Sender, ClientID) is its idempotency key.
type NewMessage struct {
	Channel     string
	Sender      string
	ClientID    string // client message id; required, ≤ 64 bytes
	ContentType string // e.g. "text/plain"; an end-to-end-encrypted body has its own type and opaque Body
	Body        []byte
	Attachments []Attachment
	ReplyTo     uint64 // sequence of the message this one answers (a thread); 0 = none
	CreatedAt   time.Time
}

// Message is a stored message.
type Message struct {
	Channel     string
	Seq         uint64
	Sender      string
	ClientID    string
	ContentType string
	Body        []byte // nil once deleted
	Attachments []Attachment
	ReplyTo     uint64
	CreatedAt   time.Time
	EditedAt    time.Time      // zero if never edited
	Deleted     bool           // a tombstone: body and attachments cleared, sequence kept
	Pinned      bool           //
	Reactions   map[string]int // emoji → number of users; nil when none
}

// AppendResult is the outcome of one NewMessage of an Append batch.
type AppendResult struct {
	Message   Message // the stored message: new, or the original for a duplicate
	Duplicate bool    // (Sender, ClientID) was already stored with the same content
	Err       error   // ErrNotFound (no such channel) or ErrConflict (same key, other content); Message unset
}

// HistoryQuery selects a page of a channel's messages by sequence. At most
// one of Before, After and Around is set; none means the newest messages.
type HistoryQuery struct {
	Channel string
	Before  uint64 // messages with Seq < Before
	After   uint64 // messages with Seq > After
	Around  uint64 // up to Limit messages centred on Around (Around included)
	Limit   int    // 1–MaxHistoryLimit
	Oldest  bool   // order oldest-first; default newest-first
}

// MaxHistoryLimit bounds one history page.
const MaxHistoryLimit = 200

// Unread is a user's unread state in one channel.
type Unread struct {
	Channel string
	LastSeq uint64
	ReadSeq uint64
	Count   uint64 // LastSeq − ReadSeq
}

// Store is the durable state of chat. Implementations: storage/postgres
// (production) and storage/sqlite (the embedded default); both pass the
// contract suite in storage/chattest. Every method is safe for concurrent
// use, including from several processes sharing one database (Postgres).
// Times are stored in UTC with microsecond precision.
type Store interface {
	// CreateChannel stores ch with owner as its first member (RoleOwner), in
	// one transaction. ErrExists if ch.ID is taken. LastSeq starts at 0.
	CreateChannel(ctx context.Context, ch Channel, owner string) (Channel, error)
	// Channel returns a channel, or ErrNotFound.
	Channel(ctx context.Context, id string) (Channel, error)
	// UpdateChannel sets name, topic, public, open and member cap; ErrNotFound.
	// Lowering the cap below the current count is allowed (nobody is removed).
	UpdateChannel(ctx context.Context, ch Channel) (Channel, error)
	// DeleteChannel removes a channel with its members and messages; ErrNotFound.
	DeleteChannel(ctx context.Context, id string) error
	// ChannelsOf lists the channels where user is a member (not banned),
	// ordered by ID.
	ChannelsOf(ctx context.Context, user string) ([]Channel, error)

	// PutMember adds a member or changes its role. Adding beyond the
	// channel's MemberCap (members that are not banned, cap > 0) is
	// ErrFull, checked atomically with the insert. Changing a role never
	// touches the cursors. ErrNotFound if the channel does not exist.
	PutMember(ctx context.Context, channel, user string, role Role) (Member, error)
	// Member returns a membership (banned included), or ErrNotFound.
	Member(ctx context.Context, channel, user string) (Member, error)
	// RemoveMember deletes a membership; ErrNotFound if absent.
	RemoveMember(ctx context.Context, channel, user string) error
	// Members lists memberships ordered by user, users > after, at most limit.
	Members(ctx context.Context, channel, after string, limit int) ([]Member, error)
	// MemberCount counts members that are not banned.
	MemberCount(ctx context.Context, channel string) (int, error)

	// Append stores a batch of messages atomically per message: each gets
	// the next sequence of its channel, gap-free and strictly increasing in
	// commit order, even with several processes appending to one channel.
	// A message whose (Sender, ClientID) is already stored is not stored
	// again: its result is the original with Duplicate set, or ErrConflict
	// when channel, content type, body, attachments or reply-to differ.
	// Results are in the order of msgs. An error return means nothing of
	// the batch was stored.
	Append(ctx context.Context, msgs []NewMessage) ([]AppendResult, error)
	// Message returns one message, or ErrNotFound.
	Message(ctx context.Context, channel string, seq uint64) (Message, error)
	// History returns a page of messages (tombstones included) and whether
	// more exist beyond it in the query's direction (for Around: on either side).
	History(ctx context.Context, q HistoryQuery) (msgs []Message, more bool, err error)
	// Edit replaces content type and body and sets EditedAt; ErrNotFound;
	// ErrDeleted for a tombstone.
	Edit(ctx context.Context, channel string, seq uint64, contentType string, body []byte, at time.Time) (Message, error)
	// Delete turns a message into a tombstone (body, attachments and
	// reactions cleared, Deleted set); deleting a tombstone again is a no-op.
	Delete(ctx context.Context, channel string, seq uint64) (Message, error)
	// React adds (add=true) or removes one user's reaction and returns the
	// message's reaction counts; adding twice or removing an absent reaction
	// changes nothing. ErrNotFound; ErrDeleted for a tombstone.
	React(ctx context.Context, channel string, seq uint64, user, emoji string, add bool) (map[string]int, error)
	// Pin sets or clears Pinned; ErrNotFound.
	Pin(ctx context.Context, channel string, seq uint64, pinned bool) error
	// Pinned lists the pinned messages of a channel by sequence.
	Pinned(ctx context.Context, channel string) ([]Message, error)

	// MoveRead moves a member's read cursor forward to seq, clamped to the
	// channel's LastSeq; it never moves back. moved reports a change.
	// ErrNotFound if user is not a member.
	MoveRead(ctx context.Context, channel, user string, seq uint64) (cursor uint64, moved bool, err error)
	// MoveDelivered does the same for the delivered cursor.
	MoveDelivered(ctx context.Context, channel, user string, seq uint64) (cursor uint64, moved bool, err error)
	// Unread lists, for each channel the user is a member of, its unread
	// state, ordered by channel ID.
	Unread(ctx context.Context, user string) ([]Unread, error)

	// Close releases the store's resources.
	Close() error
}

// Store errors. Implementations wrap them (errors.Is works).
var (
	ErrNotFound = errors.New("chat: not found")
	ErrExists   = errors.New("chat: already exists")
	ErrConflict = errors.New("chat: client message id reused with different content")
	ErrFull     = errors.New("chat: channel member cap reached")
	ErrDeleted  = errors.New("chat: message deleted")
)
