package wsclient

import (
	"errors"
	"net/http"
	"strconv"
)

// Sentinel errors; returned errors wrap them with detail.
var (
	// ErrClosed is returned by operations on a Conn after Close, and by Send
	// after a close frame was sent.
	ErrClosed = errors.New("wsclient: connection closed")
	// ErrSubprotocol means the server accepted the upgrade without selecting
	// the subprotocol we offered.
	ErrSubprotocol = errors.New("wsclient: server selected no subprotocol")
	// ErrProtocol means the server broke RFC 6455 (masked frame, reserved
	// bits or opcodes, bad control frame, unexpected continuation).
	ErrProtocol = errors.New("wsclient: websocket protocol violation by server")
	// ErrMessageType means a text message arrived on a binary subprotocol or
	// the other way round. The connection stays usable.
	ErrMessageType = errors.New("wsclient: wrong message type for subprotocol")
	// ErrMessageTooLarge means a message exceeded Options.MaxMessageSize.
	ErrMessageTooLarge = errors.New("wsclient: message too large")
	// ErrDuplicateID means Request was given an ID that is already pending.
	ErrDuplicateID = errors.New("wsclient: request id already pending")
)

// HandshakeError is returned by Dial when the server answered the upgrade
// request with a status other than 101.
type HandshakeError struct {
	Status int         // HTTP status code, e.g. 401
	Reason string      // reason phrase of the status line
	Header http.Header // response headers; nil if the response could not be parsed
	Body   string      // response body, at most 64 KiB
}

func (e *HandshakeError) Error() string {
	s := "wsclient: upgrade refused: " + strconv.Itoa(e.Status)
	if e.Reason != "" {
		s += " " + e.Reason
	}
	if e.Body != "" {
		body := e.Body
		if len(body) > 200 {
			body = body[:200] + "…"
		}
		s += ": " + body
	}
	return s
}

// CloseError is returned by Read (and everything that reads) when the server
// sent a close frame. Code is 1005 when the frame carried no status code.
// After a CloseError the connection can only be closed.
type CloseError struct {
	Code   uint16
	Reason string
}

// CloseNoStatus is the code reported when a close frame had no payload
// (RFC 6455 section 7.1.5); it never travels on the wire.
const CloseNoStatus uint16 = 1005

func (e *CloseError) Error() string {
	s := "wsclient: closed by server: " + strconv.Itoa(int(e.Code))
	if e.Reason != "" {
		s += " " + e.Reason
	}
	return s
}
