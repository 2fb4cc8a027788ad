package salam

import (
	"errors"
	"strconv"

	"github.com/salamhq/salam/sdk/go/wire"
)

// Code is a wire error code (PROTOCOL.md §6). Ranges: 1–99 protocol and
// connection, 100–199 chat, 200–299 presence, 300–399 calls.
type Code = wire.Code

// Error is a request the server refused: the code and reason of its error
// frame. Match codes with errors.Is against the sentinels below, or take the
// code with errors.As.
type Error struct {
	Code   Code
	Reason string // human-readable; never parse it
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return "salam: " + e.Code.String()
	}
	return "salam: " + e.Code.String() + ": " + e.Reason
}

// Temporary reports whether the same request may succeed later. The SDK
// already retried temporary errors until the request's context ended.
func (e *Error) Temporary() bool { return e.Code.Temporary() }

// Is matches any *Error with the same code, so errors.Is(err, ErrNotMember)
// holds whatever the reason.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for every wire v1 error code, for errors.Is.
var (
	ErrInternal             = &Error{Code: wire.CodeInternal}
	ErrBadFrame             = &Error{Code: wire.CodeBadFrame}
	ErrUnknownType          = &Error{Code: wire.CodeUnknownType}
	ErrNotConnected         = &Error{Code: wire.CodeNotConnected}
	ErrAlreadyConnected     = &Error{Code: wire.CodeAlreadyConnected}
	ErrRateLimited          = &Error{Code: wire.CodeRateLimited}
	ErrTooLarge             = &Error{Code: wire.CodeTooLarge}
	ErrPermissionDenied     = &Error{Code: wire.CodePermissionDenied}
	ErrUnavailable          = &Error{Code: wire.CodeUnavailable}
	ErrTimeout              = &Error{Code: wire.CodeTimeout}
	ErrBadChannel           = &Error{Code: wire.CodeBadChannel}
	ErrAlreadySubscribed    = &Error{Code: wire.CodeAlreadySubscribed}
	ErrNotSubscribed        = &Error{Code: wire.CodeNotSubscribed}
	ErrTooManySubscriptions = &Error{Code: wire.CodeTooManySubscriptions}
	ErrChannelNotFound      = &Error{Code: wire.CodeChannelNotFound}
	ErrNotMember            = &Error{Code: wire.CodeNotMember}
	ErrConflict             = &Error{Code: wire.CodeConflict}
	ErrChannelFull          = &Error{Code: wire.CodeChannelFull}
	ErrMessageNotFound      = &Error{Code: wire.CodeMessageNotFound}
	ErrMessageDeleted       = &Error{Code: wire.CodeMessageDeleted}
	ErrBanned               = &Error{Code: wire.CodeBanned}
	ErrTooManyUsers         = &Error{Code: wire.CodeTooManyUsers}
	ErrCallNotFound         = &Error{Code: wire.CodeCallNotFound}
	ErrNotInCall            = &Error{Code: wire.CodeNotInCall}
	ErrTargetNotInCall      = &Error{Code: wire.CodeTargetNotInCall}
	ErrNoOffer              = &Error{Code: wire.CodeNoOffer}
	ErrGlare                = &Error{Code: wire.CodeGlare} // you are polite: roll back, answer their offer
	ErrOutOfOrder           = &Error{Code: wire.CodeOutOfOrder}
	ErrDuplicate            = &Error{Code: wire.CodeDuplicate}
	ErrCallFull             = &Error{Code: wire.CodeCallFull}
	ErrBadSDP               = &Error{Code: wire.CodeBadSDP}
	ErrWrongState           = &Error{Code: wire.CodeWrongState}
	ErrPeerReconnecting     = &Error{Code: wire.CodePeerReconnecting}
	ErrSFUMode              = &Error{Code: wire.CodeSFUMode}
	ErrTrackNotFound        = &Error{Code: wire.CodeTrackNotFound}
)

// Errors of the client itself.
var (
	// ErrClosed is returned by calls on a closed Client.
	ErrClosed = errors.New("salam: client closed")
	// ErrDisconnected means the connection ended while a request waited for
	// its reply. Requests are retried on the next connection, so callers see
	// it only from calls that are not retried (Typing).
	ErrDisconnected = errors.New("salam: disconnected")
	// ErrRequestTimeout means no reply came within Config.RequestTimeout on
	// one connection; retried requests see it only as the cause of a retry.
	ErrRequestTimeout = errors.New("salam: no reply within the request timeout")
)

// CloseError is how the server ended a connection: a WebSocket close code
// of PROTOCOL.md §7 (4001 token expired, 4004 slow consumer, 4006 draining…).
// The client reconnects by itself unless the code says not to (1008).
type CloseError struct {
	Code   uint16
	Reason string
}

func (e *CloseError) Error() string {
	s := "salam: connection closed: " + strconv.Itoa(int(e.Code))
	if e.Reason != "" {
		s += " " + e.Reason
	}
	return s
}

// HandshakeError is an upgrade the server refused with an HTTP status: 401
// (the token; the client asks its TokenProvider again), 403 (origin), 503
// (draining or full; retried).
type HandshakeError struct {
	Status int
	Body   string // RFC 9457 problem JSON; show or log it, never parse it
}

func (e *HandshakeError) Error() string {
	return "salam: upgrade refused: " + strconv.Itoa(e.Status) + " " + e.Body
}

// fatal reports whether err means reconnecting cannot help.
func fatal(err error) bool {
	var he *HandshakeError
	if errors.As(err, &he) {
		return he.Status == 400 || he.Status == 403 || he.Status == 404 || he.Status == 426
	}
	var ce *CloseError
	return errors.As(err, &ce) && ce.Code == wire.ClosePolicyViolation
}

// retriable reports whether a request that failed with err may be sent
// again (with the same client message id, for a publish).
func retriable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary()
	}
	return errors.Is(err, ErrDisconnected) || errors.Is(err, ErrRequestTimeout)
}
