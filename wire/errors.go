package wire

import (
	"errors"
	"strconv"
)

// Code is a stable numeric error code carried by error frames (key "e").
// Ranges: 1–99 protocol and connection, 100–199 chat, 200–299 presence,
// 300–399 calls, 400–499 rooms and live. A code's meaning never changes.
type Code uint16

const (
	CodeInternal             Code = 1  // server bug or unexpected failure; temporary
	CodeBadFrame             Code = 2  // the envelope could not be decoded or a field is invalid
	CodeUnknownType          Code = 3  // the frame type is not known to this server
	CodeNotConnected         Code = 4  // a frame other than connect arrived before connect
	CodeAlreadyConnected     Code = 5  // connect was sent twice
	CodeRateLimited          Code = 6  // too many requests; temporary, retry later
	CodeTooLarge             Code = 7  // payload larger than allowed
	CodePermissionDenied     Code = 8  // the user may not do this
	CodeUnavailable          Code = 9  // a backend is unreachable; temporary
	CodeTimeout              Code = 10 // a backend did not answer in time; temporary
	CodeBadChannel           Code = 11 // channel name empty, too long or with forbidden characters
	CodeAlreadySubscribed    Code = 12 // subscribe to a channel already subscribed on this connection
	CodeNotSubscribed        Code = 13 // unsubscribe from a channel not subscribed on this connection
	CodeTooManySubscriptions Code = 14 // the connection reached its subscription limit

	CodeChannelNotFound Code = 100 // no such channel
	CodeNotMember       Code = 101 // the user is not a member of the channel (or may not publish in it)
	CodeConflict        Code = 102 // a client message id reused with different content
	CodeChannelFull     Code = 103 // the channel reached its member cap
	CodeMessageNotFound Code = 104 // no message with that sequence
	CodeMessageDeleted  Code = 105 // the message is a tombstone
	CodeBanned          Code = 106 // the user is banned from the channel

	CodeTooManyUsers Code = 200 // a presence query names more users than the server answers at once

	CodeCallNotFound     Code = 300 // no such call, or it has ended
	CodeNotInCall        Code = 301 // the sender is not a participant (or this connection is not its session)
	CodeTargetNotInCall  Code = 302 // the signaling target is not a participant of the call
	CodeNoOffer          Code = 303 // an answer without an outstanding offer from its target
	CodeGlare            Code = 304 // both sides offered; the sender is polite: roll back and answer theirs
	CodeOutOfOrder       Code = 305 // a signal sequence gap, or a signal that needs an earlier step
	CodeDuplicate        Code = 306 // a signal sequence already seen; not relayed again
	CodeCallFull         Code = 307 // the call has its maximum of participants
	CodeBadSDP           Code = 308 // malformed SDP or ICE candidate
	CodeWrongState       Code = 309 // the action does not fit the call's state
	CodePeerReconnecting Code = 310 // the target's connection dropped; it resumes with an ICE restart; temporary
	CodeSFUMode          Code = 311 // the call moved to the SFU: no new peer-to-peer offers
	CodeTrackNotFound    Code = 312 // a room request names a track (To, Mid) the SFU does not forward to the sender
)

var codeNames = map[Code]string{
	CodeInternal: "internal", CodeBadFrame: "bad_frame", CodeUnknownType: "unknown_type",
	CodeNotConnected: "not_connected", CodeAlreadyConnected: "already_connected",
	CodeRateLimited: "rate_limited", CodeTooLarge: "too_large", CodePermissionDenied: "permission_denied",
	CodeUnavailable: "unavailable", CodeTimeout: "timeout", CodeBadChannel: "bad_channel",
	CodeAlreadySubscribed: "already_subscribed", CodeNotSubscribed: "not_subscribed",
	CodeTooManySubscriptions: "too_many_subscriptions",
	CodeChannelNotFound:      "channel_not_found", CodeNotMember: "not_member", CodeConflict: "conflict",
	CodeChannelFull: "channel_full", CodeMessageNotFound: "message_not_found",
	CodeMessageDeleted: "message_deleted", CodeBanned: "banned",
	CodeTooManyUsers: "too_many_users",
	CodeCallNotFound: "call_not_found", CodeNotInCall: "not_in_call", CodeTargetNotInCall: "target_not_in_call",
	CodeNoOffer: "no_offer", CodeGlare: "glare", CodeOutOfOrder: "out_of_order", CodeDuplicate: "duplicate",
	CodeCallFull: "call_full", CodeBadSDP: "bad_sdp", CodeWrongState: "wrong_state",
	CodePeerReconnecting: "peer_reconnecting", CodeSFUMode: "sfu_mode",
	CodeTrackNotFound: "track_not_found",
}

// String returns the snake_case name of the code, or its number when unknown.
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return strconv.Itoa(int(c))
}

// Temporary reports whether retrying the same request later may succeed.
func (c Code) Temporary() bool {
	return c == CodeInternal || c == CodeRateLimited || c == CodeUnavailable || c == CodeTimeout ||
		c == CodePeerReconnecting
}

// Error is a typed protocol error: what a client receives in an error frame.
type Error struct {
	Code   Code
	Reason string
}

func (e *Error) Error() string { return "wire: " + e.Code.String() + ": " + e.Reason }

// Temporary reports whether retrying later may succeed.
func (e *Error) Temporary() bool { return e.Code.Temporary() }

// NewError returns a typed protocol error with a fixed reason.
func NewError(code Code, reason string) *Error { return &Error{Code: code, Reason: reason} }

// WebSocket close codes used by Salam. 1000–1011 are RFC 6455's; 4000–4999 are ours.
const (
	CloseNormal           uint16 = 1000 // client or server finished normally
	CloseGoingAway        uint16 = 1001 // server shutting down after drain
	CloseProtocolError    uint16 = 1002 // RFC 6455 violation (unmasked frame, RSV bits, bad control frame)
	CloseUnsupportedData  uint16 = 1003 // text frame on salam.v1 or binary frame on salam.v1.json
	CloseInvalidPayload   uint16 = 1007 // invalid UTF-8 in a text frame
	ClosePolicyViolation  uint16 = 1008 // origin or other policy refused after upgrade
	CloseTooBig           uint16 = 1009 // a frame or message over the size limit
	CloseInternal         uint16 = 1011 // unexpected server failure
	CloseBadFrame         uint16 = 4000 // the envelope could not be decoded
	CloseTokenExpired     uint16 = 4001 // the token expired; reconnect with a fresh one
	CloseConnectTimeout   uint16 = 4002 // no connect frame within the handshake timeout
	CloseRateLimit        uint16 = 4003 // repeated rate-limit violations
	CloseSlowConsumer     uint16 = 4004 // outbound queue overflowed: the client reads too slowly
	CloseHeartbeatTimeout uint16 = 4005 // nothing received within the heartbeat timeout
	CloseShutdown         uint16 = 4006 // server draining; reconnect (possibly to another node)
	CloseNotConnected     uint16 = 4007 // a frame other than connect arrived before connect
)

// Sentinel decoding errors; decoders wrap them with detail.
var (
	ErrMalformed = errors.New("wire: malformed frame")
	ErrTooLarge  = errors.New("wire: frame too large") // a length or entry count over the decoder's bounds
)
