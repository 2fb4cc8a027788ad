package presence

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
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
	changes  []chan State // one per announcer; a user always maps to the same one
	dropped  atomic.Int64 // changes lost because their announcer was behind, since the last log line
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
		stop: make(chan struct{})}, nil
}

// Start subscribes to edge reports and queries and starts expiring and
// publishing.
func (s *Service) Start() error {
	for range announcers {
		s.changes = append(s.changes, make(chan State, announceQueue))
	}
	seed := maphash.MakeSeed()
	s.co = NewCoalescer(s.cfg.Window, func(st State) {
		select {
		case s.changes[maphash.String(seed, st.User)%announcers] <- st:
		default:
			s.dropped.Add(1) // logged once per expiry pass, not per user: a burst would flood the log
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
	s.done.Add(1 + announcers)
	go s.expireLoop()
	for _, ch := range s.changes {
		go s.publishLoop(ch)
	}
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
			if n := s.dropped.Swap(0); n > 0 {
				s.log.Warn("presence changes dropped: announcers behind", "changes", n)
			}
		}
	}
}

// publishLoop sends each change of its users as a presence frame on every
// channel of the user.
func (s *Service) publishLoop(changes chan State) {
	defer s.done.Done()
	for {
		select {
		case <-s.stop:
			return
		case st := <-changes:
			s.announce(st)
		}
	}
}

// Announcing a change reads the store (invisible? which channels?), so
// several announcers run at once; each owns the users that hash to it,
// which keeps a user's changes in order.
const (
	announcers    = 16
	announceQueue = 1 << 12
)

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
