package presence

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// Audience names the channels a user's presence changes are sent to (the
// channels they are a member of); the edges that hold those channels'
// subscribers fan the change out, so a change costs one bus message per
// channel, not one per watcher.
type Audience interface {
	ChannelsOf(ctx context.Context, user string) ([]string, error)
}

// Service is the presence service of core: it applies edges' reports to
// the Store, expires the presence of edges that stopped reporting, and
// sends coalesced changes to the channels of each user.
//
// Goroutines: nats.go runs onReport; queries run on their own goroutines,
// at most Config.QueryConcurrency at once (bus.Serve); one goroutine
// expires; the coalescer has its own; one goroutine publishes changes (emit
// only queues them, as the coalescer calls it under its lock).
type Service struct {
	nc       *nats.Conn
	store    Store
	audience Audience
	cfg      Config
	log      *slog.Logger
	co       *Coalescer
	changes  chan State
	sub      *nats.Subscription
	queries  *bus.Served
	stop     chan struct{}
	done     sync.WaitGroup
}

// NewService builds the presence service.
func NewService(nc *nats.Conn, store Store, audience Audience, cfg Config, log *slog.Logger) (*Service, error) {
	if nc == nil || store == nil || audience == nil {
		return nil, errors.New("presence: NATS connection, store and audience are required")
	}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{nc: nc, store: store, audience: audience, cfg: cfg, log: log.With("component", "presence"),
		changes: make(chan State, 1<<14), stop: make(chan struct{})}, nil
}

// Start subscribes to edge reports and queries and starts expiring and
// publishing.
func (s *Service) Start() error {
	s.co = NewCoalescer(s.cfg.Window, func(st State) {
		select {
		case s.changes <- st:
		default:
			s.log.Warn("presence change dropped: publisher behind", "user", st.User)
		}
	})
	sub, err := s.nc.QueueSubscribe(bus.PresenceSubject, bus.QueueCore, s.onReport)
	if err != nil {
		return err
	}
	s.sub = sub
	if s.queries, err = bus.Serve(s.nc, bus.PresenceQuerySubject, s.cfg.QueryConcurrency, s.onQuery); err != nil {
		return err
	}
	s.done.Add(2)
	go s.expireLoop()
	go s.publishLoop()
	return s.nc.Flush()
}

// Stop ends the service.
func (s *Service) Stop() {
	if s.sub != nil {
		s.sub.Drain()
	}
	if s.queries != nil {
		s.queries.Stop()
	}
	close(s.stop)
	s.done.Wait()
	s.co.Close()
}

func (s *Service) onReport(m *nats.Msg) {
	var r bus.PresenceReport
	if err := r.DecodeMsgpack(m.Data); err != nil || r.Edge == "" || r.TTL <= 0 {
		s.log.Warn("bad presence report", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := time.Now()
	if online := append(r.Online, r.Joined...); len(online) > 0 {
		came, err := s.store.Beat(ctx, r.Edge, online, time.Duration(r.TTL)*time.Millisecond, now)
		if err != nil {
			s.log.Warn("presence beat", "edge", r.Edge, "err", err)
		}
		for _, u := range came {
			s.co.Observe(State{User: u, Online: true})
		}
	}
	if len(r.Left) > 0 {
		went, err := s.store.Leave(ctx, r.Edge, r.Left, now)
		if err != nil {
			s.log.Warn("presence leave", "edge", r.Edge, "err", err)
		}
		for _, u := range went {
			s.co.Observe(State{User: u, LastSeen: now})
		}
	}
}

func (s *Service) expireLoop() {
	defer s.done.Done()
	tick := time.NewTicker(s.cfg.ExpireEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			gone, err := s.store.Expire(ctx, now, 10000)
			cancel()
			if err != nil {
				s.log.Warn("presence expire", "err", err)
			}
			for _, st := range gone {
				s.co.Observe(st)
			}
		}
	}
}

// publishLoop sends each change as a presence frame on every channel of the user.
func (s *Service) publishLoop() {
	defer s.done.Done()
	for {
		select {
		case <-s.stop:
			return
		case st := <-s.changes:
			s.announce(st)
		}
	}
}

func (s *Service) announce(st State) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cur, err := s.store.Get(ctx, []string{st.User}); err == nil && len(cur) == 1 && cur[0].Invisible {
		return // invisible users appear offline: their changes are not announced
	}
	channels, err := s.audience.ChannelsOf(ctx, st.User)
	if err != nil {
		s.log.Warn("presence audience", "user", st.User, "err", err)
		return
	}
	f := wire.Frame{Type: wire.TypePresence, From: st.User, Kind: wire.PresenceOnline}
	if !st.Online {
		f.Kind = wire.PresenceOffline
		if !st.LastSeen.IsZero() {
			f.Time = st.LastSeen.UnixMilli()
		}
	}
	buf := bytebufferpool.Get()
	defer bytebufferpool.Put(buf)
	for _, ch := range channels {
		f.Channel = ch
		buf.B = wire.Msgpack.Append(buf.B[:0], &f)
		if err := s.nc.Publish(bus.EventSubject(ch), buf.B); err != nil {
			s.log.Warn("presence publish", "channel", ch, "err", err)
		}
	}
}
