package edge

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/nats-io/nats.go"
	"github.com/panjf2000/ants/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/bucket"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/wire"
)

// Options are the dependencies of a Server.
type Options struct {
	Config         Config
	Verifier       *auth.Verifier        // checks tokens at upgrade; required
	NATS           *nats.Conn            // the bus; required
	RequestTimeout time.Duration         // edge → core request timeout; default 3s
	Logger         *slog.Logger          // default slog.Default()
	Registerer     prometheus.Registerer // where edge metrics are registered; default a private registry
	Handler        http.Handler          // plain HTTP routes (/healthz, /metrics, REST); default 404 for all
	Limiter        Limiter               // shared per-user and per-address limits (Redis); nil: this edge's own
	Tracer         *observe.Tracer       // message-journey spans; nil traces nothing
	Node           string                // this edge's node id in the console (observe.Reporter.Node); default "edge"
}

// Server is one edge process's connection server.
type Server struct {
	cfg            Config
	requestTimeout time.Duration
	log            *slog.Logger
	verifier       *auth.Verifier
	nc             *nats.Conn
	http           http.Handler
	tracer         *observe.Tracer
	node           string
	inspectSubs    []*nats.Subscription
	metrics        *metrics
	hub            *hub
	requests       *requests
	users          users
	access         accessCache
	presence       *presenceReporter
	live           *liveReporter // live room subscriber counts for core/live
	limits         limits
	admissionMu    sync.Mutex
	admission      bucket.Bucket // upgrades this process accepts per second (Config.UpgradeRate)

	ln       netpoll.Listener
	loop     netpoll.EventLoop
	served   chan struct{}
	conns    atomic.Int64 // upgraded connections
	draining atomic.Bool
	registry [registryShards]connShard
	stop     chan struct{}
	swept    sync.WaitGroup
}

const registryShards = 32

type connShard struct {
	mu sync.Mutex
	m  map[*conn]struct{}
}

// Process-wide pools: netpoll's runner is global, so the first Server's
// Config.Workers sizes them.
var (
	poolsOnce sync.Once
	readPool  *ants.Pool // OnRequest callbacks and fan-out chunks: short, never block on a peer
	writePool *ants.Pool // flushes to full sockets: may wait up to WriteTimeout
)

// readBufferSize is the most a connection reads from its socket at once.
// It is above netpoll's 8 KiB page on purpose: netpoll then hands each read
// buffer back as soon as onRequest releases it, so an idle connection holds
// none. At or below the page, netpoll keeps a read buffer per connection
// and grows it with traffic (a read that straddles two buffers raises the
// next one's size), so a busy connection's memory ratcheted from 256 B to
// 8 KiB over hours: the 30-minute soak's slow growth.
const readBufferSize = 16 << 10

func initPools(cfg *Config) {
	poolsOnce.Do(func() {
		readPool, _ = ants.NewPool(cfg.Workers, ants.WithExpiryDuration(10*time.Second))
		writePool, _ = ants.NewPool(cfg.Workers, ants.WithExpiryDuration(10*time.Second))
		// Small per-connection buffers: idle connections dominate memory (FINDINGS.md).
		shrinkNetpollBarriers()
		netpoll.LinkBufferCap = cfg.BufferSize
		netpoll.Configure(netpoll.Config{
			BufferSize: readBufferSize,
			Runner: func(_ context.Context, f func()) {
				if readPool.Submit(f) != nil {
					go f() // pool released during shutdown
				}
			},
			LoadBalance: netpoll.RoundRobin,
		})
	})
}

func (s *Server) submitRead(f func()) {
	if readPool.Submit(f) != nil {
		f()
	}
}

func (s *Server) submitWrite(f func()) {
	if writePool.Submit(f) != nil {
		go f()
	}
}

// New builds a Server. Call Listen to start serving.
func New(o Options) (*Server, error) {
	cfg := o.Config
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Verifier == nil || o.NATS == nil {
		return nil, errors.New("edge: Verifier and NATS are required")
	}
	s := &Server{
		cfg: cfg, requestTimeout: o.RequestTimeout, log: o.Logger, verifier: o.Verifier, nc: o.NATS,
		http: o.Handler, served: make(chan struct{}), stop: make(chan struct{}), limits: limits{shared: o.Limiter}, tracer: o.Tracer,
	}
	if s.requestTimeout <= 0 {
		s.requestTimeout = 3 * time.Second
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.http == nil {
		s.http = http.NotFoundHandler()
	}
	reg := o.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg)
	s.users.srv = s
	for i := range s.registry {
		s.registry[i].m = make(map[*conn]struct{})
	}
	initPools(&cfg)
	var err error
	if s.requests, err = newRequests(s, s.nc); err != nil {
		return nil, err
	}
	s.hub = newHub(s, s.nc)
	s.presence = newPresenceReporter(s.nc, cfg.PresenceBeat)
	s.live = newLiveReporter(s.hub, s.nc, cfg.PresenceBeat)
	s.node = o.Node
	if s.node == "" {
		s.node = "edge"
	}
	if err := s.startInspect(); err != nil {
		return nil, err
	}
	return s, nil
}

// Listen binds Config.Listen (with SO_REUSEPORT when configured) and serves
// in the background.
func (s *Server) Listen() error {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if s.cfg.ReusePort {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		return errors.Join(err, serr)
	}}
	l, err := lc.Listen(context.Background(), "tcp", s.cfg.Listen)
	if err != nil {
		return err
	}
	if s.ln, err = netpoll.ConvertListener(l); err != nil {
		l.Close()
		return err
	}
	s.loop, err = netpoll.NewEventLoop(s.onRequest,
		netpoll.WithOnPrepare(s.onPrepare),
		netpoll.WithWriteTimeout(s.cfg.WriteTimeout))
	if err != nil {
		s.ln.Close()
		return err
	}
	go func() {
		defer close(s.served)
		s.loop.Serve(s.ln)
	}()
	s.swept.Add(1)
	go s.sweep()
	return nil
}

// Addr is the bound listen address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Connections is the number of upgraded connections.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// Draining reports whether Drain has started (readiness turns false).
func (s *Server) Draining() bool { return s.draining.Load() }

func (s *Server) onPrepare(nc netpoll.Connection) context.Context {
	if s.draining.Load() {
		nc.Close()
		return context.Background()
	}
	c := &conn{srv: s, nc: nc}
	if fc, ok := nc.(interface{ Fd() int }); ok {
		c.fd = fc.Fd()
	}
	now := nowNano()
	c.accepted.Store(now)
	c.lastRecv.Store(now)
	shard := &s.registry[c.fd%registryShards]
	shard.mu.Lock()
	shard.m[c] = struct{}{}
	shard.mu.Unlock()
	nc.AddCloseCallback(c.onClose)
	return context.WithValue(context.Background(), connKey{}, c)
}

// onClose releases everything the connection held. netpoll runs it once,
// never concurrently with onRequest.
func (c *conn) onClose(netpoll.Connection) error {
	s := c.srv
	c.mu.Lock()
	c.closed = true
	c.queue = nil
	code := c.closeCode
	subs := c.subs
	if c.cancelStream != nil {
		c.cancelStream()
	}
	c.subs = nil
	c.mu.Unlock()
	shard := &s.registry[c.fd%registryShards]
	shard.mu.Lock()
	delete(shard.m, c)
	shard.mu.Unlock()
	for ch := range subs {
		s.hub.unsubscribe(c, ch)
	}
	if c.in != nil {
		putBuffer(c.in)
		c.in = nil
	}
	if c.msg != nil {
		putBuffer(c.msg)
		c.msg = nil
	}
	if c.user != nil {
		s.users.release(c.user)
	}
	if c.state.Load() == stateConnected {
		s.users.leave(c)
		s.presence.leave(c.userID)
		c.leaveCalls()
	}
	if c.state.Load() >= stateOpen {
		s.conns.Add(-1)
		s.metrics.connections.Dec()
		s.metrics.closed(code)
	}
	return nil
}

// each calls f for every connection, outside the registry locks.
func (s *Server) each(scratch []*conn, f func(*conn)) []*conn {
	for i := range s.registry {
		shard := &s.registry[i]
		scratch = scratch[:0]
		shard.mu.Lock()
		for c := range shard.m {
			scratch = append(scratch, c)
		}
		shard.mu.Unlock()
		for _, c := range scratch {
			f(c)
		}
	}
	return scratch
}

// Drain stops accepting, asks every client to reconnect elsewhere (a
// reconnect frame with a jittered delay), waits up to DrainTimeout (or ctx)
// for clients to leave, then closes the rest with 4006.
func (s *Server) Drain(ctx context.Context) {
	if s.draining.Swap(true) {
		return
	}
	s.ln.Close() // SO_REUSEPORT siblings receive new connections from now on
	s.each(nil, func(c *conn) {
		if c.state.Load() != stateConnected {
			c.goAway(wire.CloseShutdown, "server draining")
			return
		}
		after := rand.Int64N(int64(s.cfg.ReconnectAfter/time.Millisecond) + 1)
		c.writeFrame(&wire.Frame{Type: wire.TypeReconnect, Reason: "server draining", After: uint32(after)})
	})
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DrainTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for s.conns.Load() > 0 {
		select {
		case <-ctx.Done():
			s.each(nil, func(c *conn) { c.goAway(wire.CloseShutdown, "server shutting down") })
			return
		case <-tick.C:
		}
	}
}

// Close stops the server at once: connections are closed without drain.
func (s *Server) Close() error {
	s.draining.Store(true)
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.swept.Wait()
	s.each(nil, func(c *conn) { c.goAway(wire.CloseGoingAway, "server closed") })
	if s.loop != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.loop.Shutdown(ctx)
		cancel()
		s.ln.Close()
	}
	s.stopInspect()
	s.hub.close()
	s.presence.close()
	s.live.close()
	return s.requests.sub.Unsubscribe()
}

func nowNano() int64  { return time.Now().UnixNano() }
func nowMilli() int64 { return time.Now().UnixMilli() }
