package wsclient

import (
	"net"
	"net/http"
	"time"

	"github.com/salamhq/salam/wire"
)

// Options configure Dial. The zero value dials with msgpack, no token and
// the defaults below.
type Options struct {
	// Token is sent as "Authorization: Bearer <Token>"; empty sends none.
	Token string
	// TokenInQuery sends Token as the "token" query parameter instead, as a
	// browser must.
	TokenInQuery bool
	// Subprotocol is offered in Sec-WebSocket-Protocol and must be selected
	// by the server. Default wire.SubprotocolMsgpack.
	Subprotocol string
	// LocalAddr is the source address to bind, e.g. 127.0.0.7 with port 0.
	// On Linux IP_BIND_ADDRESS_NO_PORT is set before bind, so the source
	// port is chosen per destination at connect time; without it bind()
	// crawls once an address's ports run low. Nil lets the kernel choose.
	LocalAddr *net.TCPAddr
	// Origin is sent as the Origin header when non-empty.
	Origin string
	// DialTimeout bounds TCP connect plus the upgrade. Default 10s.
	DialTimeout time.Duration
	// Header holds extra request headers.
	Header http.Header
	// ReadBufferSize is the per-connection read buffer, kept for the life of
	// the connection. Messages that fit are decoded in place; larger ones are
	// reassembled in a temporary buffer. Default 512, minimum 256.
	ReadBufferSize int
	// MaxMessageSize bounds a received message (all fragments together).
	// Default 16 MiB.
	MaxMessageSize int64
}

const (
	defaultDialTimeout    = 10 * time.Second
	defaultReadBufferSize = 512
	minReadBufferSize     = 256 // a frame header (14) plus a control payload (125) must fit
	defaultMaxMessageSize = 16 << 20
)

func (o *Options) ensureDefaults() {
	if o.Subprotocol == "" {
		o.Subprotocol = wire.SubprotocolMsgpack
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = defaultDialTimeout
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = defaultReadBufferSize
	}
	if o.ReadBufferSize < minReadBufferSize {
		o.ReadBufferSize = minReadBufferSize
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = defaultMaxMessageSize
	}
}
