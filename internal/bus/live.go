package bus

// Live streaming subjects (issue 7): ingest ↔ core/live.
//
//	subject            publisher            subscriber            payload (JSON)                queue group
//	-----------------  -------------------  --------------------  ----------------------------  -----------
//	salam.live.key     ingest (request)     core/live             LiveKeyCheck; reply           salam.core
//	                                                              LiveKeyReply
//	salam.live.event   ingest               core/live (every      LiveEvent (start, stop,       none
//	                                        core process)         viewers)
//	salam.live.subs    edge, per beat       core/live (every      LiveSubs                      none
//	                                        core process)
//
// These are a few messages per stream per minute, so they are JSON rather
// than hand-written msgpack like the per-message subjects.
const (
	LiveKeySubject   = Prefix + ".live.key"
	LiveEventSubject = Prefix + ".live.event"
)

// ValidStream says whether s may be a stream name: 1–64 lowercase ASCII
// letters, digits, '-' and '_'. Core issues only such names, and ingest
// checks them, because a name becomes a URL path segment, a directory and
// part of a channel name.
func ValidStream(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// LiveKeyCheck asks core whether a stream key is valid. It carries the
// key's SHA-256 (live.HashKey), never the secret.
type LiveKeyCheck struct {
	Hash []byte `json:"hash"`
}

// LiveKeyReply answers a LiveKeyCheck: the stream the key publishes to, or
// Error "bad_key" (unknown or revoked) or another error text (core failed).
type LiveKeyReply struct {
	Stream string `json:"stream,omitempty"`
	User   string `json:"user,omitempty"`
	Record bool   `json:"record,omitempty"`
	Error  string `json:"error,omitempty"`
}

// LiveKeyBad is LiveKeyReply.Error for an unknown or revoked key.
const LiveKeyBad = "bad_key"

// Live event types.
const (
	LiveStart   = "start"   // the stream is being published and its playlist produced
	LiveStop    = "stop"    // the publisher left (Reason says why)
	LiveViewers = "viewers" // periodic HLS viewer count of a live stream
)

// LiveEvent reports a stream's lifecycle from the ingest node Node.
type LiveEvent struct {
	Type    string `json:"type"`
	Stream  string `json:"stream"`
	User    string `json:"user,omitempty"`
	Node    string `json:"node,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Viewers int    `json:"viewers,omitempty"`
	At      int64  `json:"at"` // Unix milliseconds at the ingest node
}

// LiveSubsSubject carries each edge's count of local subscribers of live
// room channels (LiveChannelPrefix + stream), every edge.presence_beat, to
// every core/live, which adds them to the HLS viewers.
const LiveSubsSubject = Prefix + ".live.subs"

// LiveChannelPrefix starts the chat channel of every live room: the
// channel of stream s is LiveChannelPrefix + s.
const LiveChannelPrefix = "live-"

// LiveSubs is one edge's report: stream → local subscribers of its room
// channel. A report replaces the edge's previous one and lasts TTL
// milliseconds.
type LiveSubs struct {
	Edge   string         `json:"edge"`
	TTL    int64          `json:"ttl"`
	Counts map[string]int `json:"counts,omitempty"`
}
