package edge

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/wire"
)

// inspect answers the console's questions about this edge's connections
// (core/console asks every edge at once and gathers the replies). Handlers
// run on nats.go's subscription goroutines and take only hub.mu, users.mu,
// conn.mu and limits.mu, each briefly, never two at once.
func (s *Server) startInspect() error {
	for subject, h := range map[string]nats.MsgHandler{
		observe.InspectChannelSubject: s.inspectChannel,
		observe.InspectUserSubject:    s.inspectUser,
	} {
		sub, err := s.nc.Subscribe(subject, h)
		if err != nil {
			return err
		}
		s.inspectSubs = append(s.inspectSubs, sub)
	}
	return nil
}

func (s *Server) stopInspect() {
	for _, sub := range s.inspectSubs {
		sub.Unsubscribe()
	}
}

func (s *Server) inspectChannel(m *nats.Msg) {
	channel := string(m.Data)
	if m.Reply == "" || !wire.ValidChannel(channel) {
		return
	}
	s.hub.mu.Lock()
	n := 0
	if lc := s.hub.channels[channel]; lc != nil {
		n = len(lc.members)
	}
	s.hub.mu.Unlock()
	if n == 0 {
		return // only edges holding subscribers answer
	}
	data, _ := json.Marshal(observe.ChannelSubscribers{Node: s.node, Subscribers: n})
	m.Respond(data)
}

func (s *Server) inspectUser(m *nats.Msg) {
	user := string(m.Data)
	if m.Reply == "" || user == "" || len(user) > 128 {
		return
	}
	s.users.mu.Lock()
	var conns []*conn
	if u := s.users.m[user]; u != nil {
		conns = append(conns, u.conns...)
	}
	s.users.mu.Unlock()
	if len(conns) == 0 {
		return
	}
	out := observe.UserConnections{Node: s.node, PublishTokens: -1, PublishBurst: s.cfg.UserPublishBurst,
		SharedLimiter: s.limits.shared != nil}
	for _, c := range conns {
		c.mu.Lock()
		subs := len(c.subs)
		c.mu.Unlock()
		out.Connections = append(out.Connections, observe.Connection{Session: c.session, Protocol: c.codec.Subprotocol(),
			Opened: c.opened / 1e6, Subscriptions: subs, Admin: c.admin})
	}
	s.limits.mu.Lock()
	if b := s.limits.local["user:"+user]; b != nil {
		out.PublishTokens = b.Tokens(time.Now().UnixNano(), s.cfg.UserPublishRate, s.cfg.UserPublishBurst)
	}
	s.limits.mu.Unlock()
	data, _ := json.Marshal(out)
	m.Respond(data)
}
