package presence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// requestTimeout bounds the store work of one query or status change.
const requestTimeout = 5 * time.Second

// Query returns the presence of users as caller may see them: the one code
// path of the WebSocket query and GET /v1/presence. users are
// deduplicated, first appearance kept, then checked: none is ErrInvalid,
// more than Config.MaxQueryUsers is ErrTooManyUsers, an id refused by
// ValidID is ErrInvalid. Other errors come from the store or the audience.
//
// Callers see themselves as they are (Invisible included), the users they
// share a channel with as Visible shows them, and anyone else as unknown:
// State{User} alone, which is also how a user never seen reads, so a query
// reveals neither who exists nor a stranger's presence.
func (s *Service) Query(ctx context.Context, caller string, users []string) ([]State, error) {
	users = distinct(users)
	switch {
	case len(users) == 0:
		return nil, fmt.Errorf("%w: no users to query", ErrInvalid)
	case len(users) > s.cfg.MaxQueryUsers:
		return nil, fmt.Errorf("%w: %d users, at most %d", ErrTooManyUsers, len(users), s.cfg.MaxQueryUsers)
	}
	for _, u := range users {
		if err := ValidID("user", u); err != nil {
			return nil, err
		}
	}
	states, err := s.store.Get(ctx, users)
	if err != nil {
		return nil, err
	}
	var mine map[string]bool // caller's channels, read when first needed
	for i := range states {
		st := &states[i]
		st.User = users[i]
		if st.User == caller {
			continue
		}
		*st = Visible(*st)
		if !st.Online && st.LastSeen.IsZero() && st.Status == "" {
			continue // reads as unknown anyway: no audience lookup needed
		}
		if mine == nil {
			if mine, err = s.channelSet(ctx, caller); err != nil {
				return nil, err
			}
		}
		theirs, err := s.audience.ChannelsOf(ctx, st.User)
		if err != nil {
			return nil, err
		}
		if !sharesAny(mine, theirs) {
			*st = State{User: st.User}
		}
	}
	return states, nil
}

func (s *Service) channelSet(ctx context.Context, user string) (map[string]bool, error) {
	chs, err := s.audience.ChannelsOf(ctx, user)
	set := make(map[string]bool, len(chs))
	for _, ch := range chs {
		set[ch] = true
	}
	return set, err
}

func sharesAny(set map[string]bool, channels []string) bool {
	for _, ch := range channels {
		if set[ch] {
			return true
		}
	}
	return false
}

// distinct returns users without repeats, in order of first appearance.
func distinct(users []string) []string {
	seen := make(map[string]bool, len(users))
	out := users[:0:0]
	for _, u := range users {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// errorCode maps an error of Query or of the store to its wire code and the
// reason a client is shown.
func (s *Service) errorCode(err error) (wire.Code, string) {
	switch {
	case errors.Is(err, ErrTooManyUsers):
		return wire.CodeTooManyUsers, fmt.Sprintf("at most %d users per presence query", s.cfg.MaxQueryUsers)
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrStatusTooLong):
		return wire.CodeBadFrame, strings.TrimPrefix(strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "), "presence: ")
	case errors.Is(err, context.DeadlineExceeded):
		return wire.CodeTimeout, "presence store did not answer in time"
	}
	return wire.CodeUnavailable, "presence store unavailable"
}

// onQuery answers a presence frame forwarded by an edge with a presence
// frame carrying Presences, or an error frame. The edge sets the client's
// request id on the reply.
func (s *Service) onQuery(m *nats.Msg) {
	reply := wire.Frame{Type: wire.TypePresence}
	var req bus.Request
	var f wire.Frame
	if err := req.DecodeMsgpack(m.Data); err != nil || wire.Msgpack.Decode(req.Frame, &f) != nil ||
		f.Type != wire.TypePresence || req.User == "" {
		reply = wire.Frame{Type: wire.TypeError, Code: wire.CodeBadFrame, Reason: "malformed presence query"}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		states, err := s.Query(ctx, req.User, f.Users)
		cancel()
		if err != nil {
			if code, _ := s.errorCode(err); code == wire.CodeUnavailable || code == wire.CodeTimeout {
				s.log.Warn("presence query", "user", req.User, "err", err)
			}
			reply.Type = wire.TypeError
			reply.Code, reply.Reason = s.errorCode(err)
		} else {
			reply.Presences = make([]wire.Presence, len(states))
			for i, st := range states {
				reply.Presences[i] = wirePresence(st)
			}
		}
	}
	if m.Reply == "" {
		return
	}
	buf := bytebufferpool.Get()
	buf.B = wire.Msgpack.Append(buf.B[:0], &reply)
	if err := s.nc.Publish(m.Reply, buf.B); err != nil {
		s.log.Warn("presence query reply", "err", err)
	}
	bytebufferpool.Put(buf)
}

// wirePresence is st as a presence query answers it.
func wirePresence(st State) wire.Presence {
	p := wire.Presence{User: st.User, Kind: wire.PresenceOnline, Status: st.Status, Invisible: st.Invisible}
	if !st.Online {
		p.Kind = wire.PresenceOffline
		if !st.LastSeen.IsZero() {
			p.LastSeen = st.LastSeen.UnixMilli()
		}
	}
	return p
}
