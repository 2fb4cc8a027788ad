package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// phaseError tags an error with the step of a connection it happened in:
// token, dial, connect, subscribe or publish.
type phaseError struct {
	phase string
	err   error
}

func (e phaseError) Error() string { return e.phase + ": " + e.err.Error() }
func (e phaseError) Unwrap() error { return e.err }

// errorKind names the kind of a connection error for the report, as
// "<phase>:<cause>" when the phase is known. Causes: http_<status>,
// close_<code>, wire_<code name>, timeout, aborted, refused, reset,
// addr_not_avail, addr_in_use, too_many_files, broken_pipe, eof,
// subprotocol, ws_protocol, handshake, other.
func errorKind(err error) string {
	var pe phaseError
	if errors.As(err, &pe) {
		return pe.phase + ":" + cause(pe.err)
	}
	return cause(err)
}

func cause(err error) string {
	var (
		he    *wsclient.HandshakeError
		ce    *wsclient.CloseError
		we    *wire.Error
		errno syscall.Errno
		ne    net.Error
	)
	switch {
	case errors.As(err, &he):
		return "http_" + strconv.Itoa(he.Status)
	case errors.As(err, &ce):
		return "close_" + strconv.Itoa(int(ce.Code))
	case errors.As(err, &we):
		return "wire_" + we.Code.String()
	case errors.Is(err, context.Canceled):
		return "aborted"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.As(err, &errno):
		switch errno {
		case syscall.ECONNREFUSED:
			return "refused"
		case syscall.ECONNRESET:
			return "reset"
		case syscall.EADDRNOTAVAIL:
			return "addr_not_avail"
		case syscall.EADDRINUSE:
			return "addr_in_use"
		case syscall.EMFILE, syscall.ENFILE:
			return "too_many_files"
		case syscall.EPIPE:
			return "broken_pipe"
		case syscall.ETIMEDOUT:
			return "timeout"
		}
		return "errno_" + strconv.Itoa(int(errno))
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, wsclient.ErrSubprotocol):
		return "subprotocol"
	case errors.Is(err, wsclient.ErrProtocol):
		return "ws_protocol"
	case errors.Is(err, wsclient.ErrClosed):
		return "closed"
	case isHandshakeError(err):
		return "handshake"
	}
	return "other"
}

func isHandshakeError(err error) bool {
	for _, e := range []error{ws.ErrHandshakeBadProtocol, ws.ErrHandshakeBadUpgrade,
		ws.ErrHandshakeBadConnection, ws.ErrHandshakeBadSecAccept, ws.ErrMalformedResponse,
		ws.ErrHandshakeBadSubProtocol, ws.ErrHandshakeBadExtensions} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
