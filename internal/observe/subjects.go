package observe

// NATS subjects of the console's data. They are under the "salam." prefix
// that the bus grants.
const (
	// WatchSubject: the console publishes here (empty body) every second
	// while at least one page is open; Reporters report while they hear it.
	WatchSubject = "salam.console.watch"
	// StatsSubject: Reporters publish their Snapshot (JSON) here.
	StatsSubject = "salam.console.stats"
	// SpansSubject: Tracers publish finished spans (JSON Span) here.
	SpansSubject = "salam.console.spans"
	// AuditSubject: the console publishes every audit record here.
	AuditSubject = "salam.console.audit"
	// InspectChannelSubject: the console asks every edge for its local
	// subscribers of a channel (body: the channel id); each edge answers
	// with a ChannelSubscribers (JSON) reply.
	InspectChannelSubject = "salam.console.inspect.channel"
)

// InspectUserSubject: the console asks every edge for a user's
// connections (body: the user id); each edge holding any answers with a
// UserConnections (JSON) reply.
const InspectUserSubject = "salam.console.inspect.user"

// ChannelSubscribers is one edge's answer about a channel.
type ChannelSubscribers struct {
	Node        string `json:"node"`
	Subscribers int    `json:"subscribers"`
}

// UserConnections is one edge's answer about a user: its connections
// there and the state of its publish rate limit on this edge.
type UserConnections struct {
	Node        string       `json:"node"`
	Connections []Connection `json:"connections"`
	// PublishTokens is what is left of the user's per-user publish burst
	// in this edge's own bucket (-1: never used here); with a shared
	// (Redis) limiter SharedLimiter is true and that bucket is only the
	// fallback.
	PublishTokens float64 `json:"publish_tokens"`
	PublishBurst  int     `json:"publish_burst"`
	SharedLimiter bool    `json:"shared_limiter"`
}

// Connection is one WebSocket connection (device) of a user.
type Connection struct {
	Session       string `json:"session"`
	Protocol      string `json:"protocol"` // the subprotocol: salam.v1 or salam.v1.json
	Opened        int64  `json:"opened"`   // Unix ms
	Subscriptions int    `json:"subscriptions"`
	Admin         bool   `json:"admin"`
}

// InspectRoomsSubject: the console asks every SFU node for its rooms
// (empty body); every node answers with an SFURooms (JSON) reply, empty
// when it holds none.
const InspectRoomsSubject = "salam.console.inspect.rooms"

// InspectStreamsSubject: the console asks every ingest server for its live
// streams (empty body); each answers with an IngestStreams (JSON) reply.
const InspectStreamsSubject = "salam.console.inspect.streams"

// SFURooms is one SFU node's answer: its rooms.
type SFURooms struct {
	Node  string    `json:"node"`
	Rooms []SFURoom `json:"rooms"`
}

// SFURoom is one room (an escalated call; its id is the call id).
type SFURoom struct {
	ID           string           `json:"id"`
	Moderator    string           `json:"moderator,omitempty"`
	Stage        bool             `json:"stage"`
	Speakers     []string         `json:"speakers,omitempty"` // the last active speakers announced
	Participants []SFUParticipant `json:"participants"`
	// A room spread over nodes (sfu/relay.go): its home node when this
	// node is a leaf, and the nodes this node links to.
	Home  string   `json:"home,omitempty"`
	Links []string `json:"links,omitempty"`
	// Incomplete: the room's goroutine did not answer in time (a busy or
	// closing room); only its id is known.
	Incomplete bool `json:"incomplete,omitempty"`
}

// SFUParticipant is one participant of a room and the tracks it publishes.
type SFUParticipant struct {
	User        string     `json:"user"`
	Session     string     `json:"session"`
	Role        string     `json:"role"` // speaker or listener
	Muted       bool       `json:"muted"`
	ForcedMuted bool       `json:"forced_muted"`
	Hand        bool       `json:"hand"`
	Tracks      []SFUTrack `json:"tracks"`
	RelayedFrom string     `json:"relayed_from,omitempty"` // a participant of that node, whose tracks come over its link
}

// SFUTrack is one published track (the publisher's mid): its layers and
// what each subscriber receives of it.
type SFUTrack struct {
	Mid         string          `json:"mid"`
	Kind        string          `json:"kind"` // audio or video
	Codec       string          `json:"codec"`
	Muted       bool            `json:"muted"`
	Layers      []SFULayer      `json:"layers"`
	Subscribers []SFUSubscriber `json:"subscribers"`
}

// SFULayer is one received RTP stream of a track (a simulcast layer, or
// the only one).
type SFULayer struct {
	Layer   int    `json:"layer"` // 0 q, 1 h, 2 f
	RID     string `json:"rid,omitempty"`
	Bitrate uint64 `json:"bitrate"` // bits/s over the last second
	Packets uint64 `json:"packets"`
	Lost    uint64 `json:"lost"`
}

// SFUSubscriber is one subscriber of a track: the layer forwarded to it
// (-1: none yet), the one it switches to at the next keyframe, its cap.
type SFUSubscriber struct {
	User     string `json:"user"` // "relay:<node>" for the link to another node, which gets every layer
	Layer    int    `json:"layer"`
	Target   int    `json:"target"`
	MaxLayer int    `json:"max_layer"`
	Paused   bool   `json:"paused"`
	Estimate uint64 `json:"estimate,omitempty"` // its bandwidth estimate (REMB), bits/s
}

// IngestStreams is one ingest server's answer: its live streams.
type IngestStreams struct {
	Node    string         `json:"node"`
	Streams []IngestStream `json:"streams"`
}

// IngestStream is one stream's ingest figures.
type IngestStream struct {
	Name               string  `json:"name"`
	User               string  `json:"user"`
	Started            int64   `json:"started"` // Unix ms
	Bitrate            float64 `json:"bitrate"` // bits/s over the last full second
	FPS                float64 `json:"fps"`
	KeyframeIntervalMs int64   `json:"keyframe_interval_ms"`
	Bytes              uint64  `json:"bytes"`
	DroppedFrames      uint64  `json:"dropped_frames"`
	HLSViewers         int     `json:"hls_viewers"`
	ListingLatencyMs   int64   `json:"listing_latency_ms"`
}
