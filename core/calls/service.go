package calls

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// Service is the calls service of one core process: it creates calls,
// holds the live state of the calls it created (ringing, participants,
// signaling state) and relays signaling between participants.
//
// Goroutines: creates run on bus.Serve's goroutines (store work, then hand
// the call to its shard); nats.go delivers the node subject to onNode,
// which only decodes and hands each frame to the shard owning its call.
// Each shard is one goroutine that owns its calls' state outright, so a
// call's frames are handled in the order they arrived, without locks.
// Timers and probe results re-enter through the shard's queue. One writer
// goroutine persists the call history in order, off the signaling path.
type Service struct {
	nc      *nats.Conn
	store   Store
	members Members
	cfg     Config
	log     *slog.Logger
	node    string

	seed     maphash.Seed
	shards   []*shard
	creates  *bus.Served
	sub      *nats.Subscription
	writes   chan func(context.Context) error
	stop     chan struct{}
	done     sync.WaitGroup
	inflight sync.WaitGroup // ring and probe requests in flight

	iceMu sync.Mutex
	ice   ICEConfig

	sfus    sfuNodes
	sfusSub *nats.Subscription

	stopOnce sync.Once
}

// shard owns the calls hashed to it; only its goroutine touches calls.
type shard struct {
	in    chan func()
	calls map[string]*call
}

const (
	shardCount   = 8
	shardQueue   = 8192
	writeQueue   = 16384
	storeTimeout = 5 * time.Second
	// deliverTimeout bounds a ring or probe request: an edge answers in
	// microseconds, so silence means the connection is gone.
	deliverTimeout = 2 * time.Second
)

// NewService builds the calls service.
func NewService(nc *nats.Conn, store Store, members Members, cfg Config, log *slog.Logger) (*Service, error) {
	if nc == nil || store == nil || members == nil {
		return nil, errors.New("calls: NATS connection, store and members are required")
	}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	node := cfg.NodeID
	if node == "" {
		node = randomToken(10)
	}
	s := &Service{nc: nc, store: store, members: members, cfg: cfg, node: node, ice: cfg.ICE,
		log: log.With("component", "calls", "node", node), seed: maphash.MakeSeed(),
		writes: make(chan func(context.Context) error, writeQueue), stop: make(chan struct{}),
		sfus: sfuNodes{nodes: make(map[string]sfuNode)}}
	for range shardCount {
		s.shards = append(s.shards, &shard{in: make(chan func(), shardQueue), calls: make(map[string]*call)})
	}
	return s, nil
}

// Node is this process's id, the first part of the ids of its calls.
func (s *Service) Node() string { return s.node }

// SetICE replaces the ICE servers handed to clients (salam up adds its dev
// TURN server once it listens).
func (s *Service) SetICE(ice ICEConfig) {
	if ice.TURNTTL == 0 {
		ice.TURNTTL = s.cfg.ICE.TURNTTL
	}
	s.iceMu.Lock()
	s.ice = ice
	s.iceMu.Unlock()
}

// ICE returns the ICE servers handed to clients.
func (s *Service) ICE() ICEConfig {
	s.iceMu.Lock()
	defer s.iceMu.Unlock()
	return s.ice
}

// Store returns the call history store (for the REST API).
func (s *Service) Store() Store { return s.store }

// Start ends the calls this node held before a restart (they cannot be
// resumed: their state was in memory), then subscribes.
func (s *Service) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lost, err := s.store.ActiveCalls(ctx, s.node)
	if err != nil {
		return fmt.Errorf("calls: active calls: %w", err)
	}
	for _, c := range lost {
		if err := s.store.EndCall(ctx, c.ID, EndLost, time.Now()); err != nil {
			return fmt.Errorf("calls: end lost call %s: %w", c.ID, err)
		}
	}
	for _, sh := range s.shards {
		s.done.Add(1)
		go s.runShard(sh)
	}
	s.done.Add(2)
	go s.writeLoop()
	go s.probeLoop()
	if s.sub, err = s.nc.Subscribe(bus.CallNodeSubject(s.node), s.onNode); err != nil {
		return err
	}
	s.sub.SetPendingLimits(-1, 256<<20)
	if s.creates, err = bus.Serve(s.nc, bus.CallCreateSubject, 256, s.onCreate); err != nil {
		return err
	}
	if s.sfusSub, err = s.nc.Subscribe(bus.SFUAnnounceSubject, s.onSFUAnnounce); err != nil {
		return err
	}
	return s.nc.Flush()
}

// Stop stops taking frames, ends the calls this process holds (reason
// lost: nobody else can resume them) and writes what is left of history.
// Later calls do nothing.
func (s *Service) Stop() { s.stopOnce.Do(s.stopNow) }

func (s *Service) stopNow() {
	if s.creates != nil {
		s.creates.Stop()
	}
	if s.sub != nil {
		s.sub.Unsubscribe()
	}
	var wg sync.WaitGroup
	for _, sh := range s.shards {
		wg.Add(1)
		sh.in <- func() {
			defer wg.Done()
			for _, c := range sh.calls {
				s.end(sh, c, EndLost, "")
			}
		}
	}
	wg.Wait()
	if s.sfusSub != nil {
		_ = s.sfusSub.Unsubscribe()
	}
	close(s.stop)
	s.inflight.Wait()
	s.done.Wait()
}

func (s *Service) runShard(sh *shard) {
	defer s.done.Done()
	for {
		select {
		case fn := <-sh.in:
			fn()
		case <-s.stop:
			return
		}
	}
}

func (s *Service) shardOf(callID string) *shard {
	return s.shards[maphash.String(s.seed, callID)%shardCount]
}

// enqueue runs fn on the shard of callID, or reports false when the shard
// is too far behind (the caller answers unavailable).
func (s *Service) enqueue(callID string, fn func()) bool {
	select {
	case s.shardOf(callID).in <- fn:
		return true
	default:
		return false
	}
}

// later runs fn on the shard of callID after d.
func (s *Service) later(callID string, d time.Duration, fn func()) *time.Timer {
	sh := s.shardOf(callID)
	return time.AfterFunc(d, func() {
		select {
		case sh.in <- fn:
		case <-s.stop:
		}
	})
}

// persist queues a history write; writes run in order on one goroutine.
func (s *Service) persist(what string, fn func(context.Context) error) {
	wrapped := func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	select {
	case s.writes <- wrapped:
	default:
		s.log.Warn("call history write dropped: store behind", "write", what)
	}
}

func (s *Service) writeLoop() {
	defer s.done.Done()
	run := func(fn func(context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		if err := fn(ctx); err != nil {
			s.log.Warn("call history", "err", err)
		}
		cancel()
	}
	for {
		select {
		case fn := <-s.writes:
			run(fn)
		case <-s.stop:
			for len(s.writes) > 0 {
				run(<-s.writes)
			}
			return
		}
	}
}

// onNode takes every frame about a call this node holds.
func (s *Service) onNode(m *nats.Msg) {
	var req bus.Request
	f := new(wire.Frame)
	if err := req.DecodeMsgpack(m.Data); err != nil || wire.Msgpack.Decode(req.Frame, f) != nil {
		s.reply(m, errorFrame(nil, wire.CodeBadFrame, "malformed request"))
		return
	}
	if !s.enqueue(f.CallID, func() { s.handle(s.shardOf(f.CallID), m, &req, f) }) {
		s.reply(m, errorFrame(f, wire.CodeUnavailable, "calls overloaded; retry"))
	}
}

// handle runs on the call's shard.
func (s *Service) handle(sh *shard, m *nats.Msg, req *bus.Request, f *wire.Frame) {
	c := sh.calls[f.CallID]
	if f.Type == wire.TypeCall && f.Kind == bus.CallGone {
		if c != nil {
			s.connectionGone(sh, c, req.User, req.Session)
		}
		return
	}
	if c == nil {
		s.reply(m, errorFrame(f, wire.CodeCallNotFound, "no such call"))
		return
	}
	switch f.Type {
	case wire.TypeCall:
		s.action(sh, c, m, req, f)
	case wire.TypeRoom:
		s.room(sh, c, m, req, f)
	default:
		s.signal(c, m, req, f)
	}
}

// reply answers a request with a wire frame.
func (s *Service) reply(m *nats.Msg, f *wire.Frame) {
	if m.Reply != "" {
		s.publish(m.Reply, f)
	}
}

func (s *Service) publish(subject string, f *wire.Frame) {
	buf := bytebufferpool.Get()
	buf.B = wire.Msgpack.Append(buf.B[:0], f)
	if err := s.nc.Publish(subject, buf.B); err != nil {
		s.log.Warn("publish", "subject", subject, "err", err)
	}
	bytebufferpool.Put(buf)
}

// send writes f to user's connections (session: only that one).
func (s *Service) send(user, session string, received int64, f *wire.Frame) {
	buf := bytebufferpool.Get()
	buf.B = wire.Msgpack.Append(buf.B[:0], f)
	d := bus.Delivery{Session: session, Received: received, Frame: buf.B}
	out := bytebufferpool.Get()
	out.B = d.AppendMsgpack(out.B[:0])
	if err := s.nc.Publish(bus.UserSubject(user), out.B); err != nil {
		s.log.Warn("deliver", "user", user, "err", err)
	}
	bytebufferpool.Put(buf)
	bytebufferpool.Put(out)
}

// request sends a delivery as a NATS request and reports whether an edge
// holding the user (or the session) answered.
func (s *Service) request(user string, d *bus.Delivery) bool {
	_, err := s.nc.Request(bus.UserSubject(user), d.AppendMsgpack(nil), deliverTimeout)
	return err == nil
}

func errorFrame(req *wire.Frame, code wire.Code, reason string) *wire.Frame {
	f := &wire.Frame{Type: wire.TypeError, Code: code, Reason: reason}
	if req != nil {
		f.CallID = req.CallID
	}
	return f
}

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomToken returns n random letters and digits.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b)
}
