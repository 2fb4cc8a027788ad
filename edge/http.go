package edge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/wire"
)

// WebSocketPath is the only path that upgrades.
const WebSocketPath = "/v1/ws"

// serveHTTP handles one HTTP request whose head ends buf[:headLen]. It
// returns false while the request body has not fully arrived.
func (c *conn) serveHTTP(buf []byte, headLen int) (consumed int, complete bool) {
	s := c.srv
	head := buf[:headLen]
	req, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(head), len(head)))
	if err != nil {
		s.metrics.upgrade("bad_request")
		c.writeAndClose(problem(http.StatusBadRequest, "malformed HTTP request", err.Error()))
		return len(buf), true
	}
	if req.URL.Path == WebSocketPath {
		c.upgrade(req, head)
		return headLen, true
	}
	switch {
	case len(req.TransferEncoding) > 0:
		c.writeAndClose(problem(http.StatusLengthRequired, "chunked request bodies are not supported", "send Content-Length"))
		return len(buf), true
	case req.ContentLength > int64(s.cfg.MaxBodyBytes):
		c.writeAndClose(problem(http.StatusRequestEntityTooLarge, "request body too large",
			"limit "+strconv.Itoa(s.cfg.MaxBodyBytes)+" bytes"))
		return len(buf), true
	case req.ContentLength > int64(len(buf)-headLen):
		return 0, false // wait for the rest of the body
	}
	end := headLen + int(max(req.ContentLength, 0))
	req.Body = io.NopCloser(bytes.NewReader(buf[headLen:end]))
	req.RemoteAddr = c.nc.RemoteAddr().String()
	if wantsStream(req) {
		c.serveStream(req)
		return len(buf), true
	}
	rw := &bufferedResponse{header: make(http.Header)}
	s.http.ServeHTTP(rw, req)
	keepAlive := !req.Close && req.ProtoAtLeast(1, 1) && !s.draining.Load()
	resp := rw.bytes(req.Method == http.MethodHead, keepAlive)
	if keepAlive {
		c.accepted.Store(nowNano()) // the idle keep-alive time counts from here
		c.write(resp)
	} else {
		c.writeAndClose(resp)
	}
	return end, true
}

// upgrade authenticates the request and switches the connection to
// WebSocket. Every refusal is an HTTP problem response before the upgrade.
func (c *conn) upgrade(req *http.Request, head []byte) {
	s := c.srv
	refuse := func(status int, result, title, detail string) {
		s.metrics.upgrade(result)
		c.writeAndClose(problem(status, title, detail))
	}
	switch {
	case s.draining.Load():
		refuse(http.StatusServiceUnavailable, "draining", "server is draining", "reconnect to another node")
		return
	case req.Method != http.MethodGet || !strings.EqualFold(req.Header.Get("Upgrade"), "websocket"):
		refuse(http.StatusUpgradeRequired, "not_websocket", "WebSocket upgrade required", "GET "+WebSocketPath+" with Upgrade: websocket")
		return
	case s.conns.Load() >= int64(s.cfg.MaxConns):
		refuse(http.StatusServiceUnavailable, "too_many_connections", "too many connections", "this node is full")
		return
	case !s.admit():
		s.metrics.upgrade("admission")
		c.writeAndClose(problem(http.StatusServiceUnavailable, "too many connection attempts", "this node admits "+
			strconv.FormatFloat(s.cfg.UpgradeRate, 'f', -1, 64)+" upgrades/s; retry with backoff"))
		return
	case !s.limits.allow("ip:"+remoteIP(c), s.cfg.IPUpgradeRate, s.cfg.IPUpgradeBurst):
		refuse(http.StatusTooManyRequests, "rate_limited", "too many connections from this address", "retry after a second")
		return
	case !s.originAllowed(req.Header.Get("Origin")):
		refuse(http.StatusForbidden, "origin", "origin not allowed", req.Header.Get("Origin"))
		return
	}
	codec := chooseCodec(req.Header.Values("Sec-WebSocket-Protocol"))
	if codec == nil {
		refuse(http.StatusBadRequest, "subprotocol", "unsupported subprotocol",
			"offer "+wire.SubprotocolMsgpack+" or "+wire.SubprotocolJSON+" in Sec-WebSocket-Protocol")
		return
	}
	claims, err := s.verifier.Verify(auth.TokenFromRequest(req.Header.Get("Authorization"), req.URL.RawQuery))
	if err != nil {
		refuse(http.StatusUnauthorized, "unauthorized", "unauthorized", err.Error())
		return
	}
	var out bytes.Buffer
	u := ws.Upgrader{Protocol: func(p []byte) bool { return string(p) == codec.Subprotocol() }}
	if _, err := u.Upgrade(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(head), &out}); err != nil {
		s.metrics.upgrade("bad_handshake")
		c.writeAndClose(out.Bytes())
		return
	}
	c.codec = codec
	c.userID = claims.UserID
	c.admin = claims.Admin
	c.expires = claims.ExpiresAt.UnixNano()
	c.opened = nowNano()
	c.lastPing = c.opened
	s.conns.Add(1)
	s.metrics.connections.Inc()
	c.state.Store(stateOpen)
	s.metrics.upgrade("ok")
	c.write(out.Bytes())
}

// chooseCodec picks the first subprotocol the client offers that we speak.
func chooseCodec(offers []string) wire.Codec {
	for _, line := range offers {
		for _, p := range strings.Split(line, ",") {
			if codec, ok := wire.CodecFor(strings.TrimSpace(p)); ok {
				return codec
			}
		}
	}
	return nil
}

// originAllowed checks Origin against AllowedOrigins (see OriginAllowed).
func (s *Server) originAllowed(origin string) bool {
	return OriginAllowed(s.cfg.AllowedOrigins, origin)
}

// OriginAllowed reports whether origin matches allowed: exact matches or
// one leading "*." wildcard label ("https://*.example.com"). An empty list
// allows any origin, and requests without Origin (non-browser clients)
// always pass. The REST API's CORS policy uses it too, so that one list
// governs every browser request.
func OriginAllowed(allowed []string, origin string) bool {
	if origin == "" || len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(a, origin) {
			return true
		}
		scheme, host, ok := strings.Cut(a, "://*.")
		if ok && strings.HasPrefix(origin, scheme+"://") && strings.HasSuffix(origin, "."+host) {
			return true
		}
	}
	return false
}

// admit takes a token from the node's upgrade bucket: a reconnect storm is
// let in at UpgradeRate, the rest told to come back (Retry-After), so that
// the subscribes and resumes behind the upgrades reach core at a pace it
// can serve.
func (s *Server) admit() bool {
	s.admissionMu.Lock()
	defer s.admissionMu.Unlock()
	return s.admission.Allow(nowNano(), s.cfg.UpgradeRate, s.cfg.UpgradeBurst)
}

// problem renders a complete RFC 9457 problem response that closes the connection.
func problem(status int, title, detail string) []byte {
	body, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail,omitempty"`
	}{"about:blank", title, status, detail})
	rw := &bufferedResponse{header: make(http.Header)}
	rw.header.Set("Content-Type", "application/problem+json")
	switch status {
	case http.StatusUnauthorized:
		rw.header.Set("WWW-Authenticate", `Bearer realm="salam"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		rw.header.Set("Retry-After", "1") // clients back off instead of hammering
	}
	rw.WriteHeader(status)
	rw.Write(body)
	return rw.bytes(false, false)
}

// bufferedResponse is an http.ResponseWriter that renders the whole response
// at once. Plain HTTP on the edge (health, metrics, small REST) never streams.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *bufferedResponse) Header() http.Header { return r.header }

func (r *bufferedResponse) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *bufferedResponse) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

func (r *bufferedResponse) bytes(head, keepAlive bool) []byte {
	r.WriteHeader(http.StatusOK)
	var out bytes.Buffer
	out.WriteString("HTTP/1.1 " + strconv.Itoa(r.status) + " " + http.StatusText(r.status) + "\r\n")
	r.header.Set("Content-Length", strconv.Itoa(r.body.Len()))
	if keepAlive {
		r.header.Del("Connection")
	} else {
		r.header.Set("Connection", "close")
	}
	if r.header.Get("Content-Type") == "" && r.body.Len() > 0 {
		r.header.Set("Content-Type", http.DetectContentType(r.body.Bytes()))
	}
	r.header.Write(&out)
	out.WriteString("\r\n")
	if !head {
		out.Write(r.body.Bytes())
	}
	return out.Bytes()
}

// remoteIP is the client's address without its port.
func remoteIP(c *conn) string {
	addr := c.nc.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
