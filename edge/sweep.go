package edge

import (
	"time"

	"github.com/gobwas/ws"

	"github.com/salamhq/salam/wire"
)

// pingFrame is the server's WebSocket ping, shared by every connection.
var pingFrame = appendFrameHeader(nil, ws.OpPing, 0)

// sweep is the edge's one timer goroutine: instead of a timer per
// connection it visits every connection each tick to enforce the handshake
// and connect timeouts, send pings and close silent connections, and it
// expires unanswered requests.
func (s *Server) sweep() {
	defer s.swept.Done()
	tick := time.NewTicker(min(time.Second, s.cfg.PingInterval/2))
	defer tick.Stop()
	var scratch []*conn
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		now := nowNano()
		scratch = s.each(scratch, func(c *conn) { s.check(c, now) })
		s.requests.expire(now)
	}
}

func (s *Server) check(c *conn, now int64) {
	cfg := &s.cfg
	switch c.state.Load() {
	case stateHTTP:
		if now-c.accepted.Load() > int64(cfg.HandshakeTimeout) && !c.streaming.Load() {
			s.metrics.handshakeTimeouts.Inc()
			c.abort(0) // no WebSocket yet: nothing to say
		}
		return
	case stateOpen:
		if now-c.opened > int64(cfg.ConnectTimeout) {
			c.closeWith(wire.CloseConnectTimeout, "no connect frame")
			return
		}
	}
	switch {
	case now > c.expires:
		c.closeWith(wire.CloseTokenExpired, "token expired")
	case now-c.lastRecv.Load() > int64(cfg.HeartbeatTimeout):
		s.metrics.heartbeatTimeouts.Inc()
		c.closeWith(wire.CloseHeartbeatTimeout, "heartbeat timeout")
	case now-c.lastPing >= int64(cfg.PingInterval):
		c.lastPing = now
		c.write(pingFrame)
	}
}
