package calls

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// chatNotFound is what Members returns for a missing channel or member.
var chatNotFound = chat.ErrNotFound

// maxMembersPage is how many members one lookup reads while ringing.
const maxMembersPage = 500

var endReasons = map[EndReason]uint8{EndHangup: wire.EndHangup, EndEmpty: wire.EndEmpty,
	EndCancelled: wire.EndCancelled, EndDeclined: wire.EndDeclined, EndMissed: wire.EndMissed, EndLost: wire.EndLost}

// onCreate creates a call: checks the caller, reads the members to ring,
// stores the call, then hands it to its shard, which replies and rings.
func (s *Service) onCreate(m *nats.Msg) {
	var req bus.Request
	f := new(wire.Frame)
	if err := req.DecodeMsgpack(m.Data); err != nil || wire.Msgpack.Decode(req.Frame, f) != nil ||
		f.Type != wire.TypeCall || f.Kind != wire.CallCreate {
		s.reply(m, errorFrame(nil, wire.CodeBadFrame, "malformed create"))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	members, code, err := s.channelMembers(ctx, f.Channel, req.User)
	if err != nil {
		s.log.Warn("call create: members", "channel", f.Channel, "err", err)
		s.reply(m, errorFrame(f, wire.CodeUnavailable, "store unavailable"))
		return
	}
	if code != 0 {
		s.reply(m, errorFrame(f, code, code.String()))
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := &call{id: s.node + "-" + randomToken(16), channel: f.Channel, caller: req.User, created: now,
		members: members, ringing: map[string]bool{}, pairs: map[pairKey]*pair{},
		parts: []*participant{{user: req.User, session: req.Session}}}
	for u := range members {
		if u != req.User {
			c.ringing[u] = true
		}
	}
	rec := Call{ID: c.id, Channel: c.channel, Caller: c.caller, Node: s.node, CreatedAt: now,
		Participants: []Participant{{User: c.caller, JoinedAt: now}}}
	if err := s.store.CreateCall(ctx, rec); err != nil {
		s.log.Warn("call create: store", "err", err)
		s.reply(m, errorFrame(f, wire.CodeUnavailable, "store unavailable"))
		return
	}
	if !s.enqueue(c.id, func() { s.started(s.shardOf(c.id), c, m) }) {
		s.persist("end "+c.id, func(ctx context.Context) error { return s.store.EndCall(ctx, c.id, EndLost, time.Now()) })
		s.reply(m, errorFrame(f, wire.CodeUnavailable, "calls overloaded; retry"))
	}
}

// channelMembers returns the members of channel (not banned) when user may
// call there, else the code to refuse with.
func (s *Service) channelMembers(ctx context.Context, channel, user string) (map[string]bool, wire.Code, error) {
	ch, err := s.members.Channel(ctx, channel)
	if errors.Is(err, chatNotFound) {
		return nil, wire.CodeChannelNotFound, nil
	} else if err != nil {
		return nil, 0, err
	}
	if ch.Kind == chat.KindBroadcast {
		return nil, wire.CodePermissionDenied, nil
	}
	if code, err := s.memberCode(ctx, channel, user); code != 0 || err != nil {
		return nil, code, err
	}
	out := map[string]bool{}
	for after := ""; ; {
		ms, err := s.members.Members(ctx, channel, after, maxMembersPage)
		if err != nil {
			return nil, 0, err
		}
		for _, mb := range ms {
			if mb.Role != chat.RoleBanned {
				out[mb.User] = true
			}
		}
		if len(ms) < maxMembersPage {
			return out, 0, nil
		}
		after = ms[len(ms)-1].User
	}
}

// memberCode returns 0 when user is a member of channel (not banned).
func (s *Service) memberCode(ctx context.Context, channel, user string) (wire.Code, error) {
	mb, err := s.members.Member(ctx, channel, user)
	switch {
	case errors.Is(err, chatNotFound):
		return wire.CodeNotMember, nil
	case err != nil:
		return 0, err
	case mb.Role == chat.RoleBanned:
		return wire.CodeBanned, nil
	}
	return 0, nil
}

// started registers a new call on its shard, answers its creator and rings.
func (s *Service) started(sh *shard, c *call, m *nats.Msg) {
	sh.calls[c.id] = c
	s.reply(m, c.state(wire.CallCreate))
	ring := c.event(wire.CallRinging, c.caller)
	for u := range c.ringing {
		s.ring(u, ring)
	}
	c.ringTimer = s.later(c.id, s.cfg.RingTimeout, func() { s.ringTimeout(sh, c) })
	if len(c.ringing) == 0 { // a channel of one: nobody to ring
		c.ringTimer.Stop()
	}
}

// ring sends the ringing frame to user's connections, or to the push
// subject when user has none.
func (s *Service) ring(user string, f *wire.Frame) {
	frame := wire.Msgpack.Append(nil, f)
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		if s.request(user, &bus.Delivery{Frame: frame}) {
			return
		}
		push := bus.Request{User: user, Frame: frame}
		if err := s.nc.Publish(bus.PushCallSubject, push.AppendMsgpack(nil)); err != nil {
			s.log.Warn("push", "user", user, "err", err)
		}
	}()
}

func (s *Service) ringTimeout(sh *shard, c *call) {
	if sh.calls[c.id] != c || len(c.ringing) == 0 {
		return
	}
	if !c.answered {
		s.end(sh, c, EndMissed, "")
		return
	}
	stopped := c.event(wire.CallRingStopped, c.caller)
	for u := range c.ringing {
		s.send(u, "", 0, stopped)
	}
	clear(c.ringing)
}

// action runs a call action on the call's shard.
func (s *Service) action(sh *shard, c *call, m *nats.Msg, req *bus.Request, f *wire.Frame) {
	user := req.User
	var code wire.Code
	switch f.Kind {
	case wire.CallAccept:
		if !c.ringing[user] {
			code = wire.CodeWrongState
			break
		}
		code = s.join(sh, c, req, true)
	case wire.CallJoin:
		code = s.join(sh, c, req, c.ringing[user])
	case wire.CallDecline:
		if !c.ringing[user] {
			code = wire.CodeWrongState
			break
		}
		delete(c.ringing, user)
		s.tell(c, user, c.event(wire.CallDeclined, user))
		if len(c.ringing) == 0 && !c.answered {
			s.end(sh, c, EndDeclined, user)
		}
	case wire.CallCancel:
		switch {
		case user != c.caller:
			code = wire.CodePermissionDenied
		case c.answered:
			code = wire.CodeWrongState
		default:
			s.end(sh, c, EndCancelled, user)
		}
	case wire.CallLeave:
		p := c.participant(user)
		if p == nil || p.session != req.Session {
			code = wire.CodeNotInCall
			break
		}
		s.leave(sh, c, user)
	case wire.CallEnd:
		if user != c.caller {
			code = wire.CodePermissionDenied
			break
		}
		s.end(sh, c, EndHangup, user)
	default:
		code = wire.CodeBadFrame
	}
	if code != 0 {
		s.reply(m, errorFrame(f, code, code.String()))
		return
	}
	out := c.state(f.Kind)
	if p := c.participant(user); p != nil && (f.Kind == wire.CallJoin || f.Kind == wire.CallAccept) {
		out.Seq = p.lastSeq
	}
	if sh.calls[c.id] != c {
		out.EndReason = c.endReason()
	}
	s.reply(m, out)
}

// tell sends an event to the participants and to all of user's connections.
func (s *Service) tell(c *call, user string, ev *wire.Frame) {
	for _, p := range c.parts {
		if p.user != user && !p.gone {
			s.send(p.user, p.session, 0, ev)
		}
	}
	s.send(user, "", 0, ev)
}

// join makes req's user a participant, or resumes it (same user, new
// connection). answer: the user was rung.
func (s *Service) join(sh *shard, c *call, req *bus.Request, answer bool) wire.Code {
	user := req.User
	if p := c.participant(user); p != nil {
		s.resume(c, p, req.Session)
		return 0
	}
	if !c.members[user] {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		code, err := s.memberCode(ctx, c.channel, user) // joined the channel after the call started
		cancel()
		if err != nil {
			return wire.CodeUnavailable
		}
		if code != 0 {
			return code
		}
		c.members[user] = true
	}
	if len(c.parts) >= s.cfg.MaxParticipants {
		return wire.CodeCallFull
	}
	joined := c.event(wire.CallJoined, user)
	for _, p := range c.parts {
		if !p.gone {
			s.send(p.user, p.session, 0, joined)
		}
	}
	c.parts = append(c.parts, &participant{user: user, session: req.Session})
	now := time.Now()
	s.persist("join "+c.id, func(ctx context.Context) error { return s.store.JoinCall(ctx, c.id, user, now) })
	if answer {
		delete(c.ringing, user)
		s.tell(c, user, c.event(wire.CallAccepted, user))
	}
	c.answered = true
	if !c.sfu && len(c.parts) > s.cfg.SFUThreshold {
		c.sfu = true
		esc := c.state(wire.CallEscalated)
		esc.From, esc.Time = user, now.UnixMilli()
		for _, p := range c.parts {
			if !p.gone {
				s.send(p.user, p.session, 0, esc)
			}
		}
		s.persist("escalate "+c.id, func(ctx context.Context) error { return s.store.EscalateCall(ctx, c.id) })
	}
	return 0
}

// resume moves a participant to a new connection: no event to the others;
// the offers it had outstanding were lost; its old connection, if alive,
// is told it left.
func (s *Service) resume(c *call, p *participant, session string) {
	if p.grace != nil {
		p.grace.Stop()
		p.grace = nil
	}
	if p.session != session && !p.gone {
		left := c.event(wire.CallLeft, p.user)
		left.Session = p.session
		s.send(p.user, p.session, 0, left)
	}
	p.session, p.gone = session, false
	c.resetOffers(p.user)
}

// leave removes a participant; the last one ends the call.
func (s *Service) leave(sh *shard, c *call, user string) {
	c.removeParticipant(user)
	s.tellSFU(c, user, wire.CallLeft)
	now := time.Now()
	s.persist("leave "+c.id, func(ctx context.Context) error { return s.store.LeaveCall(ctx, c.id, user, now) })
	left := c.event(wire.CallLeft, user)
	for _, p := range c.parts {
		if !p.gone {
			s.send(p.user, p.session, 0, left)
		}
	}
	if len(c.parts) == 0 {
		reason := EndEmpty
		if !c.answered {
			reason = EndCancelled
		}
		s.end(sh, c, reason, user)
	}
}

// end finishes a call: everyone in it or still rung is told why.
func (s *Service) end(sh *shard, c *call, reason EndReason, by string) {
	if sh.calls[c.id] != c {
		return
	}
	delete(sh.calls, c.id)
	if c.ringTimer != nil {
		c.ringTimer.Stop()
	}
	s.tellSFU(c, c.caller, wire.CallEnded)
	ended := c.event(wire.CallEnded, by)
	if by == "" {
		ended.From = c.caller
	}
	ended.EndReason = endReasons[reason]
	for _, p := range c.parts {
		if p.grace != nil {
			p.grace.Stop()
		}
		if !p.gone {
			s.send(p.user, p.session, 0, ended)
		}
	}
	for u := range c.ringing {
		s.send(u, "", 0, ended)
	}
	c.ended = reason
	now := time.Now()
	s.persist("end "+c.id, func(ctx context.Context) error { return s.store.EndCall(ctx, c.id, reason, now) })
}

func (c *call) endReason() uint8 { return endReasons[c.ended] }

// connectionGone starts the reconnect grace of user when session is still
// its connection in the call.
func (s *Service) connectionGone(sh *shard, c *call, user, session string) {
	p := c.participant(user)
	if p == nil || p.session != session || p.gone {
		return
	}
	p.gone = true
	p.grace = s.later(c.id, s.cfg.ReconnectGrace, func() {
		if sh.calls[c.id] == c && c.participant(user) == p && p.gone {
			s.leave(sh, c, user)
		}
	})
}

// probeLoop checks, every ProbeInterval, that each participant's connection
// is still held by an edge; one whose edge died starts its grace.
func (s *Service) probeLoop() {
	defer s.done.Done()
	tick := time.NewTicker(s.cfg.ProbeInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		for _, sh := range s.shards {
			select {
			case sh.in <- func() { s.probeShard(sh) }:
			case <-s.stop:
				return
			}
		}
	}
}

// probeShard sends a probe per connected participant, off the shard.
func (s *Service) probeShard(sh *shard) {
	type target struct{ call, user, session string }
	var targets []target
	for _, c := range sh.calls {
		for _, p := range c.parts {
			if !p.gone {
				targets = append(targets, target{c.id, p.user, p.session})
			}
		}
	}
	for _, t := range targets {
		s.inflight.Add(1)
		go func() {
			defer s.inflight.Done()
			if s.request(t.user, &bus.Delivery{Kind: bus.DeliverProbe, Session: t.session}) {
				return
			}
			s.enqueue(t.call, func() {
				if c := sh.calls[t.call]; c != nil {
					s.connectionGone(sh, c, t.user, t.session)
				}
			})
		}()
	}
}
