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
