package wire

// Subprotocols negotiated with Sec-WebSocket-Protocol. A client that offers
// neither is refused at upgrade.
const (
	SubprotocolMsgpack = "salam.v1"      // production: msgpack envelopes in binary frames
	SubprotocolJSON    = "salam.v1.json" // debugging: the same envelopes as JSON text frames
)

// Type is the frame type, key "t". Numbers are stable forever within v1.
type Type uint8

const (
	TypeConnect     Type = 1  // client → server: first frame of a session
	TypeConnected   Type = 2  // server → client: reply to connect (session, server time, limits)
	TypeSubscribe   Type = 3  // client → server: start receiving events of a channel
	TypeUnsubscribe Type = 4  // client → server: stop receiving events of a channel
	TypePublish     Type = 5  // client → server: send data to a channel
	TypeAck         Type = 6  // server → client: a request succeeded
	TypeError       Type = 7  // server → client: a request (or the connection) failed
	TypeEvent       Type = 8  // server → client: data published to a subscribed channel
	TypePing        Type = 9  // either way: application-level liveness probe
	TypePong        Type = 10 // either way: answer to ping
	TypeReconnect   Type = 11 // server → client: this server is going away, reconnect after a delay
	TypeTyping      Type = 12 // either way: a user starts (or, with Stop, stops) typing in a channel
	TypeReceipt     Type = 13 // either way: a delivered or read cursor moved (Kind, Seq)
	TypeHistory     Type = 14 // client → server: ask for a page of a channel's messages
	TypeMessages    Type = 15 // server → client: a page of messages, the reply to history
	TypePresence    Type = 16 // server → client: user From came online or went offline (Kind), in Channel; client → server: query the presence of Users, answered with Presences

	// Calls and WebRTC signaling (§4, 17–21).
	TypeCall            Type = 17 // client → server: a call action (Kind: CallCreate…); server → client: its reply, or a call event (Kind: CallRinging…)
	TypeOffer           Type = 18 // either way: an SDP offer (Data) for participant To, relayed with From; Kind: OfferInitial, OfferICERestart, OfferRenegotiate
	TypeAnswer          Type = 19 // either way: the SDP answer (Data) to the outstanding offer of To
	TypeCandidate       Type = 20 // either way: a trickle ICE candidate (Data: the candidate attribute, Mid) for To
	TypeEndOfCandidates Type = 21 // either way: the sender gathered all its candidates for To

	// Rooms on the SFU (§4, 22).
	TypeRoom Type = 22 // client → server: a room request about call CallID (Kind: RoomSubscribe…); server → client: a room event (Kind: RoomTrackPublished…)
)

// MaxType is the highest frame type this version knows.
const MaxType = TypeRoom

// Known reports whether t is a frame type of protocol v1.
func (t Type) Known() bool { return t >= TypeConnect && t <= MaxType }

var typeNames = [...]string{"", "connect", "connected", "subscribe", "unsubscribe", "publish",
	"ack", "error", "event", "ping", "pong", "reconnect", "typing", "receipt", "history", "messages", "presence",
	"call", "offer", "answer", "candidate", "end_of_candidates", "room"}

// String returns the lower-case name used in PROTOCOL.md and in metric labels.
func (t Type) String() string {
	if t.Known() {
		return typeNames[t]
	}
	return "unknown"
}

// Limits are the per-connection limits announced in connected, key "l".
// A zero field means "not announced".
type Limits struct {
	MaxFrame      uint32 // "mf": largest message the server accepts, bytes
	PublishRate   uint32 // "pr": sustained publishes per second per connection
	PublishBurst  uint32 // "pb": publish burst allowance
	PingInterval  uint32 // "pi": seconds between server pings; silence for 3× this closes the connection
	MaxSubscribed uint32 // "ms": channels one connection may subscribe to
}

// Frame is the single envelope of protocol v1. Every field is optional on the
// wire and omitted when zero; which fields a type uses is listed in PROTOCOL.md.
// Keys are encoded in the order the fields are declared.
type Frame struct {
	Type    Type   // "t"
	ID      uint32 // "i": request id chosen by the client, echoed by ack/error; 0 = none
	Channel string // "c"
	Data    []byte // "d": opaque payload; JSON carries it as a UTF-8 string "d", or base64 "d64" when not UTF-8
	Seq     uint64 // "s": per-channel sequence (event, publish ack; subscribe: resume after this seq)
	MsgID   string // "m": client message id, the idempotency key of a publish; echoed in its event
	From    string // "f": user id of the publisher (event)
	Time    int64  // "ts": server time, Unix milliseconds (connected, ack, event, pong)
	Code    Code   // "e": error code (error)
	Reason  string // "r": human-readable text (error, reconnect); never parse it
	Session string // "sid": session id (connected)
	User    string // "u": authenticated user id (connected)
	Client  string // "cl": client name and version, e.g. "salam-go/0.1.0" (connect)
	After   uint32 // "a": milliseconds to wait before reconnecting (reconnect)
	Limits  Limits // "l": connection limits (connected)

	// Chat fields (added in v1 under the forward-compatibility rule).
	ContentType string       // "ct": content type of Data (publish, event); empty means "text/plain"
	ReplyTo     uint64       // "rt": sequence of the message this one answers (publish, event)
	Attachments []Attachment // "at": attachment metadata (publish, event)
	Kind        uint8        // "k": event kind (EventMessage…) or receipt kind (ReceiptDelivered, ReceiptRead)
	Stop        bool         // "st": typing stopped (typing)
	Before      uint64       // "hb": history: messages with seq < Before
	Since       uint64       // "ha": history: messages with seq > Since
	Around      uint64       // "hr": history: messages centred on Around
	Limit       uint16       // "n": history page size, 1–200 (default 50)
	Oldest      bool         // "o": history order oldest-first (default newest-first)
	More        bool         // "mo": messages: more exist beyond this page; subscribe ack: resume was cut short, fetch history
	Messages    []Message    // "ms": a page of messages (messages)
	Reactions   []Reaction   // "rx": reaction counts (event of kind EventReactions)

	// Presence query fields (added in v1 under the forward-compatibility rule).
	Users     []string   // "us": the users a presence query asks about (presence, client → server)
	Presences []Presence // "ps": the answer to a presence query, one per distinct user asked (presence, server → client)

	// Call fields (added in v1 under the forward-compatibility rule).
	CallID    string // "cid": the call a call or signaling frame is about
	To        string // "to": signaling, client → server: the participant the frame is for
	Mid       string // "mid": candidate: the media stream identification tag (sdpMid) it belongs to
	SFU       bool   // "sf": call: the call runs through the SFU (escalated)
	EndReason uint8  // "er": call event CallEnded: why (EndHangup…)
}

// Call actions (Frame.Kind of a call frame, client → server). The reply is a
// call frame with the same Kind echoing the request's ID.
const (
	CallCreate  uint8 = 1 // Channel: start a call there and ring its other members
	CallAccept  uint8 = 2 // answer a call that rings for this user: join it
	CallDecline uint8 = 3 // refuse a call that rings for this user
	CallCancel  uint8 = 4 // the caller gives up before anyone answered
	CallJoin    uint8 = 5 // join an active call, or resume it after a reconnect
	CallLeave   uint8 = 6 // leave the call
	CallEnd     uint8 = 7 // the caller ends the call for everyone
)

// Call events (Frame.Kind of a call frame, server → client, without ID).
const (
	CallAccepted    uint8 = 2  // From answered (to participants, and From's other connections)
	CallDeclined    uint8 = 3  // From declined (to participants, and From's other connections)
	CallJoined      uint8 = 5  // From joined
	CallLeft        uint8 = 6  // From left, or did not come back within the reconnect grace
	CallEnded       uint8 = 7  // the call is over: EndReason says why
	CallRinging     uint8 = 8  // From calls you in Channel: accept or decline
	CallEscalated   uint8 = 9  // the call moved to the SFU: renegotiate with it (PROTOCOL.md §4, 17)
	CallRingStopped uint8 = 10 // ringing for you stopped (timed out) while the call goes on: you may still join
)

// Call end reasons (Frame.EndReason of a CallEnded event).
const (
	EndHangup    uint8 = 1 // the caller ended it
	EndEmpty     uint8 = 2 // the last participant left
	EndCancelled uint8 = 3 // the caller cancelled before anyone answered
	EndDeclined  uint8 = 4 // everyone rung declined
	EndMissed    uint8 = 5 // nobody answered within the ring timeout
	EndLost      uint8 = 6 // the server lost the call (restart); it cannot be resumed
)

// Offer kinds (Frame.Kind of an offer).
const (
	OfferInitial     uint8 = 0 // the first offer of a pair, or a fresh start after losing the peer connection
	OfferICERestart  uint8 = 1 // new ICE credentials on an established pair (after a network change or resume)
	OfferRenegotiate uint8 = 2 // tracks added or removed on an established pair
)

// Room requests (Frame.Kind of a room frame, client → server, about the
// escalated call CallID). A track is named by its publisher (To) and the
// publisher's media section (Mid). Each is answered by ack or error.
const (
	RoomSubscribe   uint8 = 1  // receive track (To, Mid) again after an unsubscribe (tracks are subscribed by default)
	RoomUnsubscribe uint8 = 2  // stop receiving track (To, Mid): the server removes it by renegotiation
	RoomPause       uint8 = 3  // keep track (To, Mid) negotiated but stop its packets
	RoomResume      uint8 = 4  // resume a paused track
	RoomMaxLayer    uint8 = 5  // simulcast track (To, Mid): forward at most layer Limit (0 low, 1 medium, 2 high)
	RoomRaiseHand   uint8 = 6  // raise your hand
	RoomLowerHand   uint8 = 7  // lower your hand (a moderator: To's)
	RoomMute        uint8 = 8  // stop forwarding your audio (a moderator: To's audio, forced)
	RoomUnmute      uint8 = 9  // forward your audio again (not after a moderator's forced mute: only a moderator lifts it)
	RoomKick        uint8 = 10 // a moderator removes To from the room
	RoomSetRole     uint8 = 11 // a moderator sets To's role: Limit 1 speaker, 2 listener
	RoomSetMode     uint8 = 12 // a moderator sets the room's mode: Limit 1 open, 2 stage (an audio room: everyone else listens until given the speaker role)
)

// Room events (Frame.Kind of a room frame, server → client, without ID).
const (
	RoomTrackPublished   uint8 = 20 // From published track Mid (ContentType: its codec's MIME type); you receive it unless you unsubscribe
	RoomTrackUnpublished uint8 = 21 // track (From, Mid) is gone: From left, was kicked or stopped it
	RoomActiveSpeakers   uint8 = 22 // Users: the loudest speakers now, loudest first (empty: silence)
	RoomHandRaised       uint8 = 23 // From raised a hand
	RoomHandLowered      uint8 = 24 // From's hand is down
	RoomMuted            uint8 = 25 // From's audio is no longer forwarded (Stop: forced by a moderator)
	RoomUnmuted          uint8 = 26 // From's audio is forwarded again
	RoomKicked           uint8 = 27 // a moderator removed From (sent to From too, then its peer connection closes)
	RoomRole             uint8 = 28 // From's role is now Limit (1 speaker, 2 listener)
	RoomLayer            uint8 = 29 // you now receive layer Limit of simulcast track (From, Mid)
	RoomMode             uint8 = 30 // the room's mode is now Limit (1 open, 2 stage), set by From
)

// Room modes (Frame.Limit of RoomSetMode and RoomMode).
const (
	ModeOpen  uint16 = 1 // everyone is a speaker (the default)
	ModeStage uint16 = 2 // participants other than the moderator are listeners unless given the speaker role
)

// Room roles (Frame.Limit of RoomSetRole and RoomRole).
const (
	RoleSpeaker  uint16 = 1 // publishes and receives
	RoleListener uint16 = 2 // receives only: its published tracks are not forwarded
)

// Event kinds (Frame.Kind of an event).
const (
	EventMessage    uint8 = 0 // a new message
	EventEdited     uint8 = 1 // message Seq was edited: ContentType and Data are the new content
	EventDeleted    uint8 = 2 // message Seq became a tombstone
	EventReactions  uint8 = 3 // message Seq's reaction counts changed: Reactions
	EventPinned     uint8 = 4 // message Seq was pinned
	EventUnpinned   uint8 = 5 // message Seq was unpinned
	EventMemberLeft uint8 = 6 // user From left, was removed or banned: the server ends their subscriptions
)

// Presence kinds (Frame.Kind of a presence frame).
const (
	PresenceOnline  uint8 = 1 // the user has at least one live connection
	PresenceOffline uint8 = 2 // the user has none; Time is when they were last seen
)

// Receipt kinds (Frame.Kind of a receipt).
const (
	ReceiptDelivered uint8 = 1 // every message up to Seq reached one of the user's devices
	ReceiptRead      uint8 = 2 // the user read every message up to Seq
)

// Message is one stored message in a messages page.
type Message struct {
	Seq         uint64       // "s"
	From        string       // "f"
	MsgID       string       // "m": the sender's client message id
	ContentType string       // "ct"
	Data        []byte       // "d": body; absent once deleted
	ReplyTo     uint64       // "rt"
	Attachments []Attachment // "at"
	Time        int64        // "ts": sent, Unix milliseconds
	Edited      int64        // "et": last edit, Unix milliseconds; 0 = never
	Deleted     bool         // "x": a tombstone
	Pinned      bool         // "p"
	Reactions   []Reaction   // "rx"
}

// Presence is one user's state in the answer to a presence query. A user
// the asker may not see reads like one never seen: Kind offline, nothing else.
type Presence struct {
	User      string // "u"
	Kind      uint8  // "k": PresenceOnline or PresenceOffline
	LastSeen  int64  // "ts": offline: when last seen, Unix milliseconds; 0 = not known
	Status    string // "tx": status text the user set
	Invisible bool   // "iv": the asker's own entry only: they appear offline to others
}

// Attachment is metadata of a file in object storage.
type Attachment struct {
	URL  string // "url"
	Mime string // "mime"
	Size int64  // "size"
	Name string // "name"
}

// Reaction is the number of users who reacted with one emoji.
type Reaction struct {
	Emoji string // "e"
	Count uint32 // "n"
}

// Reset zeroes f for reuse, keeping the capacity of Data unless it grew
// past 64 KiB (a pooled frame should not pin one large payload forever).
func (f *Frame) Reset() {
	data := f.Data[:0]
	if cap(data) > 64<<10 {
		data = nil
	}
	*f = Frame{Data: data}
}

// MaxChannelLen is the longest channel name, in bytes.
const MaxChannelLen = 128

// ValidChannel reports whether name is a legal channel name: 1–128 bytes of
// ASCII letters, digits and "_-:@=+". Dots and NATS wildcards are excluded so
// that a channel is always exactly one token of a bus subject.
func ValidChannel(name string) bool {
	if len(name) == 0 || len(name) > MaxChannelLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '-' || c == ':' || c == '@' || c == '=' || c == '+':
		default:
			return false
		}
	}
	return true
}
