package live

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/internal/bus"
)

const storeTimeout = 5 * time.Second

// Room is the state of a stream's live room.
type Room struct {
	Stream    string
	User      string
	Channel   string // the broadcast chat channel (RoomChannel)
	Live      bool   // publishing now, or within the grace period after
	StartedAt time.Time
	EndedAt   time.Time // when the room ended (grace period over); zero while open
	Viewers   int       // HLSViewers + ChatViewers; 0 once ended
	// HLSViewers are the players that fetched the playlist in the last
	// 30 s (ingest's report); ChatViewers the WebSocket subscribers of the
	// room channel (the edges' reports). One person may be both.
	HLSViewers, ChatViewers int
}

// Service answers ingest's key checks and runs the live rooms.
type Service struct {
	nc    *nats.Conn
	keys  KeyStore
	chats chat.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	mu    sync.Mutex
	rooms map[string]*room    // by stream; guarded by mu
	edges map[string]edgeSubs // by edge id: its last live room subscriber report; guarded by mu
	subs  []*nats.Subscription
}

type edgeSubs struct {
	counts  map[string]int
	expires time.Time
}

type room struct {
	Room
	grace *time.Timer // set while the publisher is away
}

// NewService builds the service; Start subscribes it.
func NewService(nc *nats.Conn, keys KeyStore, chats chat.Store, cfg Config, log *slog.Logger) (*Service, error) {
	if nc == nil || keys == nil || chats == nil {
		return nil, errors.New("live: NATS connection, key store and chat store are required")
	}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{nc: nc, keys: keys, chats: chats, cfg: cfg, log: log.With("component", "live"),
		now: time.Now, rooms: map[string]*room{}, edges: map[string]edgeSubs{}}, nil
}

// Config is the service's configuration, defaults filled.
func (s *Service) Config() Config { return s.cfg }

// Keys is the key store.
func (s *Service) Keys() KeyStore { return s.keys }

// Start subscribes to the key checks (queue group bus.QueueCore: one core
// answers) and to the lifecycle events and edge reports, which every core
// process receives, so that each holds every room and any of them answers
// GET /v1/live/streams/{id} the same (opening a room's channel twice is
// harmless: the second finds it).
func (s *Service) Start() error {
	sub, err := s.nc.QueueSubscribe(bus.LiveKeySubject, bus.QueueCore, s.onKeyCheck)
	if err != nil {
		return err
	}
	s.subs = append(s.subs, sub)
	for subject, h := range map[string]nats.MsgHandler{bus.LiveEventSubject: s.onEvent, bus.LiveSubsSubject: s.onSubs} {
		sub, err := s.nc.Subscribe(subject, h)
		if err != nil {
			s.Stop()
			return err
		}
		s.subs = append(s.subs, sub)
	}
	return s.nc.Flush()
}

// Stop unsubscribes and stops the grace timers (rooms end with the process).
func (s *Service) Stop() {
	for _, sub := range s.subs {
		sub.Unsubscribe()
	}
	s.subs = nil
	s.mu.Lock()
	for _, r := range s.rooms {
		if r.grace != nil {
			r.grace.Stop()
		}
	}
	s.mu.Unlock()
}

// CheckKey resolves a secret key's hash: the key, or ErrNotFound /
// ErrRevoked.
func (s *Service) CheckKey(ctx context.Context, hash []byte) (Key, error) {
	k, err := s.keys.StreamKeyByHash(ctx, hash)
	if err != nil {
		return Key{}, err
	}
	if !k.RevokedAt.IsZero() {
		return Key{}, ErrRevoked
	}
	return k, nil
}

func (s *Service) onKeyCheck(m *nats.Msg) {
	var req bus.LiveKeyCheck
	var reply bus.LiveKeyReply
	if err := json.Unmarshal(m.Data, &req); err != nil || len(req.Hash) == 0 {
		reply.Error = "bad request"
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		k, err := s.CheckKey(ctx, req.Hash)
		cancel()
		switch {
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrRevoked):
			reply.Error = bus.LiveKeyBad
		case err != nil:
			s.log.Warn("stream key check", "err", err)
			reply.Error = err.Error()
		default:
			reply = bus.LiveKeyReply{Stream: k.Stream, User: k.User, Record: k.Record}
		}
	}
	data, _ := json.Marshal(&reply)
	m.Respond(data)
}

func (s *Service) onEvent(m *nats.Msg) {
	var ev bus.LiveEvent
	if err := json.Unmarshal(m.Data, &ev); err != nil || !bus.ValidStream(ev.Stream) {
		s.log.Warn("bad live event", "err", err, "stream", ev.Stream)
		return
	}
	switch ev.Type {
	case bus.LiveStart:
		s.started(ev)
	case bus.LiveStop:
		s.stopped(ev)
	case bus.LiveViewers:
		s.mu.Lock()
		if r := s.rooms[ev.Stream]; r != nil && r.Live {
			r.HLSViewers = ev.Viewers
		}
		s.mu.Unlock()
	}
}

// started opens the stream's room, or keeps it if the publisher came back
// within the grace period.
func (s *Service) started(ev bus.LiveEvent) {
	now := s.now().UTC()
	s.mu.Lock()
	r := s.rooms[ev.Stream]
	if r != nil && r.Live {
		if r.grace != nil {
			r.grace.Stop()
			r.grace = nil
		}
		s.mu.Unlock()
		s.log.Info("live room resumed", "stream", ev.Stream)
		return
	}
	r = &room{Room: Room{Stream: ev.Stream, User: ev.User, Channel: RoomChannel(ev.Stream), Live: true, StartedAt: now}}
	s.rooms[ev.Stream] = r
	s.mu.Unlock()

	// The room's chat: a public broadcast channel owned by the creator,
	// created on the first live and reused by the next ones. It is open:
	// viewers are too many to add as members, yet chat and react; the
	// creator moderates with bans, and may close it (PATCH open false),
	// which the next live keeps.
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_, err := s.chats.CreateChannel(ctx, chat.Channel{ID: r.Channel, Kind: chat.KindBroadcast, Name: "Live: " + ev.Stream,
		Public: true, Open: true, CreatedBy: ev.User, CreatedAt: now.Truncate(time.Microsecond)}, ev.User)
	if err != nil && !errors.Is(err, chat.ErrExists) {
		s.log.Warn("live room channel", "stream", ev.Stream, "err", err)
	}
	s.log.Info("live room opened", "stream", ev.Stream, "user", ev.User, "channel", r.Channel)
}

// stopped starts the grace period; the room ends when it runs out.
func (s *Service) stopped(ev bus.LiveEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[ev.Stream]
	if r == nil || !r.Live || r.grace != nil {
		return
	}
	s.log.Info("live stream stopped; room ends after the grace period", "stream", ev.Stream, "reason", ev.Reason, "grace", s.cfg.GracePeriod)
	r.grace = time.AfterFunc(s.cfg.GracePeriod, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.rooms[ev.Stream] != r || r.grace == nil {
			return // resumed meanwhile
		}
		r.grace, r.Live, r.HLSViewers, r.EndedAt = nil, false, 0, s.now().UTC()
		s.log.Info("live room ended", "stream", ev.Stream)
	})
}

// Room returns the room of stream, and false when it never went live in
// this process.
func (s *Service) Room(stream string) (Room, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[stream]
	if r == nil {
		return Room{}, false
	}
	s.expireEdgesLocked()
	return s.viewLocked(r), true
}

// Rooms returns every room this process holds, live or ended, live ones
// first, newest first (the operations console's list).
func (s *Service) Rooms() []Room {
	s.mu.Lock()
	s.expireEdgesLocked()
	out := make([]Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, s.viewLocked(r))
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Room) int {
		if a.Live != b.Live {
			if a.Live {
				return -1
			}
			return 1
		}
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Stream, b.Stream)
	})
	return out
}

// PlaybackURL is the HLS playlist of stream.
func (s *Service) PlaybackURL(stream string) string { return s.cfg.PlaybackURL(stream) }

// expireEdgesLocked forgets the reports of edges that stopped sending them
// (crashed or stopped).
func (s *Service) expireEdgesLocked() {
	now := s.now()
	for id, e := range s.edges {
		if now.After(e.expires) {
			delete(s.edges, id)
		}
	}
}

// viewLocked is r with its viewers counted.
func (s *Service) viewLocked(r *room) Room {
	out := r.Room
	if out.Live {
		for _, e := range s.edges {
			out.ChatViewers += e.counts[r.Stream]
		}
	} else {
		out.HLSViewers = 0
	}
	out.Viewers = out.HLSViewers + out.ChatViewers
	return out
}

// onSubs keeps an edge's report of live room subscribers.
func (s *Service) onSubs(m *nats.Msg) {
	var r bus.LiveSubs
	if err := json.Unmarshal(m.Data, &r); err != nil || r.Edge == "" || r.TTL <= 0 {
		s.log.Warn("bad live subscribers report", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(r.Counts) == 0 {
		delete(s.edges, r.Edge)
		return
	}
	s.edges[r.Edge] = edgeSubs{counts: r.Counts, expires: s.now().Add(time.Duration(r.TTL) * time.Millisecond)}
}
