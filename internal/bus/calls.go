package bus

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/salamhq/salam/wire"
)

// Call subjects. A call's live state is held by one core process, its
// node: call ids are "<node>-<id>", and the edges send every frame about a
// call to the node's own subject, so one process sees a call's frames in
// the order each connection sent them.
const (
	// CallCreateSubject carries Requests holding call frames that create a
	// call (no call id yet), to any core process (queue group QueueCore);
	// the one that answers holds the call.
	CallCreateSubject = Prefix + ".calls"
	// PushCallSubject carries, for each member a call rings who has no live
	// connection, a Request whose User is that member and whose Frame is the
	// ringing call frame: what a push service turns into a notification.
	PushCallSubject = Prefix + ".push.call"
	// SFUSignalSubject carries SFU-bound frames (signaling without "to",
	// room requests, core's leave/end notices) of an escalated call whose
	// room core could not place on a known SFU node: a Request from the
	// participant, sent with the edge's reply subject so the SFU answers the
	// client directly. Every SFU node subscribes in queue group "sfu"; with
	// none, NATS answers "no responders" and the client gets
	// wire.CodeUnavailable. Placed rooms use SFUNodeSubject.
	SFUSignalSubject = Prefix + ".sfu.signal"

	callPrefix = Prefix + ".call."
	userPrefix = Prefix + ".user."
)

// MaxCallIDLen bounds a call id.
const MaxCallIDLen = 64

// CallNodeSubject returns "salam.call.<node>", where the core process node
// receives the frames of the calls it holds (a plain subscription: no
// queue group).
func CallNodeSubject(node string) string { return callPrefix + node }

// CallSubject returns the subject of the node holding call id, and false
// when id is not a well-formed call id.
func CallSubject(id string) (string, bool) {
	node, ok := CallNode(id)
	if !ok {
		return "", false
	}
	return callPrefix + node, true
}

// CallNode returns the node part of a call id "<node>-<id>", and false when
// id is not 1–64 bytes of ASCII letters and digits around exactly one "-".
func CallNode(id string) (string, bool) {
	node, rest, ok := strings.Cut(id, "-")
	if !ok || len(id) > MaxCallIDLen || !ValidNode(node) || !ValidNode(rest) {
		return "", false
	}
	return node, true
}

// ValidNode reports whether s is a non-empty run of ASCII letters and digits
// (a node id, or the part of a call id after the node).
func ValidNode(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// UserSubject returns "salam.user.<token>", on which core sends Deliveries
// to the connections of user wherever they are: each edge subscribes to it
// while it holds a connection of the user. A user id that is a valid
// channel name is its own token; any other (user ids are any UTF-8 without
// control characters, dots and wildcards included) is "~" and its unpadded
// base64url form, which no channel name starts with.
func UserSubject(user string) string {
	if wire.ValidChannel(user) {
		return userPrefix + user
	}
	return userPrefix + "~" + base64.RawURLEncoding.EncodeToString([]byte(user))
}

// IsUserSubject reports whether subject is a UserSubject.
func IsUserSubject(subject string) bool { return strings.HasPrefix(subject, userPrefix) }

// CallGone is the Kind of the call frame an edge sends a call's node when a
// connection that sent frames about the call closed (the Request's Session
// is that connection's): the participant may be reconnecting. Clients
// cannot send it: edges forward only the call actions of the protocol.
const CallGone uint8 = 100

// Delivery kinds.
const (
	DeliverFrame uint8 = 0 // write Frame to the user's connections
	DeliverProbe uint8 = 1 // a liveness probe: the edge holding Session replies, writes nothing
)

// Delivery is what core sends on a UserSubject. A Delivery sent as a NATS
// request (with a reply subject) is answered by the edges that wrote it to
// at least one connection, or that hold the probed session; "no responders"
// means the user (or session) is not connected anywhere.
type Delivery struct {
	Kind     uint8  // "k": DeliverFrame or DeliverProbe
	Session  string // "sid": only the connection of this session; "" = every connection of the user
	Received int64  // "rt": for a relayed signal, when the sender's edge received it, Unix nanoseconds
	Frame    []byte // "fr": the wire frame, wire.Msgpack
}

// AppendMsgpack appends the msgpack encoding of d to dst.
func (d *Delivery) AppendMsgpack(dst []byte) []byte {
	dst = appendMapHeader(dst, nonZero(d.Kind != 0, d.Session != "", d.Received != 0, len(d.Frame) != 0))
	if d.Kind != 0 {
		dst = appendUint(append(dst, 0xa1, 'k'), uint64(d.Kind))
	}
	if d.Session != "" {
		dst = appendStr(append(dst, 0xa3, 's', 'i', 'd'), d.Session)
	}
	if d.Received != 0 {
		dst = appendInt(append(dst, 0xa2, 'r', 't'), d.Received)
	}
	if len(d.Frame) != 0 {
		dst = appendBin(append(dst, 0xa2, 'f', 'r'), d.Frame)
	}
	return dst
}

// DecodeMsgpack decodes data into d. Frame is copied into d's capacity.
func (d *Delivery) DecodeMsgpack(data []byte) error {
	*d = Delivery{Frame: d.Frame[:0]}
	err := decodeMap(data, func(k string, rd *reader) (err error) {
		switch k {
		case "k":
			var v uint64
			if v, err = rd.uint(); err == nil && v > 0xff {
				err = fmt.Errorf("%w: kind %d", ErrMalformed, v)
			}
			d.Kind = uint8(v)
		case "sid":
			d.Session, err = rd.str(maxStrLen)
		case "rt":
			d.Received, err = rd.int()
		case "fr":
			d.Frame, err = rd.bin(d.Frame[:0], maxDataLen)
		default:
			err = rd.skip()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("bus: decode delivery: %w", err)
	}
	return nil
}

// SFU subjects besides SFUSignalSubject.
const (
	// SFUAnnounceSubject carries each SFU node's SFUAnnounce heartbeat, for
	// core to place rooms on live nodes.
	SFUAnnounceSubject = Prefix + ".sfu.nodes"
	sfuNodePrefix      = Prefix + ".sfu.node."
)

// SFUNodeSubject returns "salam.sfu.node.<node>", where SFU node node
// takes the SFU-bound frames (Requests as on SFUSignalSubject) of the rooms
// placed on it, and, for a room spread over nodes (Request.Home), the
// relay signaling of the room's other nodes (package sfu, relay.go).
func SFUNodeSubject(node string) string { return sfuNodePrefix + node }

// SFUAnnounce is the heartbeat an SFU node publishes (JSON) on
// SFUAnnounceSubject: core places a call's room on the live node with the
// fewest participants.
type SFUAnnounce struct {
	Node         string `json:"node"`
	Rooms        int    `json:"rooms"`
	Participants int    `json:"participants"`
	MaxRooms     int    `json:"max_rooms"`
	Stopping     bool   `json:"stopping,omitempty"` // the node takes no new rooms
}
