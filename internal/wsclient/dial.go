package wsclient

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

// maxRefusalBody bounds how much of a refusal's body Dial keeps.
const maxRefusalBody = 64 << 10

// Dial opens a WebSocket to rawURL (ws:// or wss://) and negotiates
// opt.Subprotocol. It does not send the connect frame: see Conn.Connect.
//
// When the server refuses the upgrade, the error is a *HandshakeError with
// the status code and body. When it accepts without selecting our
// subprotocol, the error wraps ErrSubprotocol. ctx bounds the whole dial, as
// does opt.DialTimeout.
func Dial(ctx context.Context, rawURL string, opt Options) (*Conn, error) {
	opt.ensureDefaults()
	codec, ok := wire.CodecFor(opt.Subprotocol)
	if !ok {
		return nil, fmt.Errorf("wsclient: unknown subprotocol %q", opt.Subprotocol)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("wsclient: dial: %w", err)
	}
	header := opt.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if opt.Token != "" {
		if opt.TokenInQuery {
			q := u.Query()
			q.Set("token", opt.Token)
			u.RawQuery = q.Encode()
		} else {
			header.Set("Authorization", "Bearer "+opt.Token)
		}
	}
	if opt.Origin != "" {
		header.Set("Origin", opt.Origin)
	}

	var refusal *HandshakeError
	nd := &net.Dialer{}
	if opt.LocalAddr != nil {
		nd.LocalAddr = opt.LocalAddr
		nd.Control = bindAddressNoPort
	}
	d := ws.Dialer{
		Timeout:   opt.DialTimeout,
		Protocols: []string{opt.Subprotocol},
		Header:    ws.HandshakeHeaderHTTP(header),
		NetDial:   nd.DialContext,
		OnStatusError: func(status int, reason []byte, resp io.Reader) {
			refusal = readRefusal(status, reason, resp)
		},
	}
	nc, br, hs, err := d.Dial(ctx, u.String())
	if err != nil {
		if refusal != nil {
			return nil, refusal
		}
		return nil, fmt.Errorf("wsclient: dial %s: %w", u.Host, err)
	}
	if hs.Protocol != opt.Subprotocol {
		if br != nil {
			ws.PutReader(br)
		}
		nc.Close()
		return nil, fmt.Errorf("%w (offered %q)", ErrSubprotocol, opt.Subprotocol)
	}
	c := newConn(nc, codec, opt)
	if br != nil {
		// The server wrote frames right behind its 101; they sit in the
		// handshake reader, which goes back to its pool.
		n := br.Buffered()
		if n > len(c.rbuf) {
			c.rbuf = make([]byte, n)
		}
		c.rend, _ = io.ReadFull(br, c.rbuf[:n])
		ws.PutReader(br)
	}
	return c, nil
}

// readRefusal parses a non-101 response: status line, headers, and up to
// maxRefusalBody bytes of body. It runs under the dial deadline.
func readRefusal(status int, reason []byte, resp io.Reader) *HandshakeError {
	e := &HandshakeError{Status: status, Reason: string(reason)}
	r, err := http.ReadResponse(bufio.NewReader(resp), nil)
	if err != nil {
		return e
	}
	defer r.Body.Close()
	e.Header = r.Header
	var body bytes.Buffer
	_, _ = io.Copy(&body, io.LimitReader(r.Body, maxRefusalBody))
	e.Body = strings.TrimRight(body.String(), "\r\n")
	return e
}
