package console

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/observe"
)

// Authenticate verifies a request's token (Bearer header or token query
// parameter) and returns its claims.
type Authenticate func(r *http.Request) (auth.Claims, error)

// Options are what the console reads from.
type Options struct {
	Config       Config
	NATS         *nats.Conn     // the bus; required
	Authenticate Authenticate   // required
	Chat         chat.Store     // channels for the inspect views; nil hides them
	Audit        AuditLog       // where admin actions and views of user data are recorded; nil records nothing
	Presence     presence.Store // users' presence for the user view; nil leaves it out
	Calls        calls.Store    // a channel's recent calls for the channel view; nil leaves them out
	Live         LiveStreams    // live rooms for the streams view (live.Service); nil: no streams view
	REST         http.Handler   // the /v1 REST API, through which admin actions go; nil: no actions
	Logger       *slog.Logger
}

// Console serves /console and /console/api/*.
type Console struct {
	cfg      Config
	nc       *nats.Conn
	authn    Authenticate
	chat     chat.Store
	presence presence.Store
	calls    calls.Store
	live     LiveStreams
	rest     http.Handler
	log      *slog.Logger
	ov       *overview
	journeys *journeys
	audit    *auditor
	subs     []*nats.Subscription

	mu       sync.Mutex
	watchers map[chan Overview]struct{} // one per open stream
	running  bool                       // the watch loop runs
	stopped  bool
	done     chan struct{}
}

// New builds a console; Start subscribes it.
func New(opt Options) (*Console, error) {
	opt.Config.EnsureDefaults()
	if err := opt.Config.Validate(); err != nil {
		return nil, err
	}
	if opt.NATS == nil || opt.Authenticate == nil {
		return nil, errors.New("console: NATS connection and Authenticate are required")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Console{cfg: opt.Config, nc: opt.NATS, authn: opt.Authenticate, chat: opt.Chat, presence: opt.Presence, calls: opt.Calls, live: opt.Live, rest: opt.REST,
		log: opt.Logger.With("component", "console"), ov: newOverview(opt.Config),
		journeys: newJourneys(opt.Config.Journeys), audit: &auditor{log: opt.Audit, nc: opt.NATS, lg: opt.Logger},
		watchers: make(map[chan Overview]struct{})}, nil
}

// Start subscribes to node reports and spans. Reports only flow while a
// stream is open (see watch); spans flow whenever a message is sampled.
func (c *Console) Start() error {
	for subject, h := range map[string]nats.MsgHandler{
		observe.StatsSubject: c.ov.onStats,
		observe.SpansSubject: c.journeys.onSpan,
	} {
		sub, err := c.nc.Subscribe(subject, h)
		if err != nil {
			return err
		}
		sub.SetPendingLimits(-1, 64<<20)
		c.subs = append(c.subs, sub)
	}
	return c.nc.Flush()
}

// Stop unsubscribes and ends the watch loop.
func (c *Console) Stop() {
	for _, s := range c.subs {
		s.Unsubscribe()
	}
	c.mu.Lock()
	c.stopped = true
	running, done := c.running, c.done
	c.mu.Unlock()
	if running {
		<-done
	}
}

// watch registers a stream; the first starts the watch loop. The returned
// function unregisters it.
func (c *Console) watch() (<-chan Overview, func()) {
	ch := make(chan Overview, 1)
	c.mu.Lock()
	c.watchers[ch] = struct{}{}
	if !c.running && !c.stopped {
		c.running = true
		c.done = make(chan struct{})
		go c.loop(c.done)
	}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.watchers, ch)
		c.mu.Unlock()
	}
}

// loop announces interest every second, so nodes report, and sends each
// stream the overview; it ends when the last stream closes.
func (c *Console) loop(done chan struct{}) {
	defer close(done)
	t := time.NewTicker(observe.Interval)
	defer t.Stop()
	for {
		if err := c.nc.Publish(observe.WatchSubject, nil); err != nil {
			c.log.Debug("watch publish", "err", err)
		}
		<-t.C
		ov := c.ov.tick(time.Now())
		c.mu.Lock()
		if len(c.watchers) == 0 || c.stopped {
			c.running = false
			c.mu.Unlock()
			return
		}
		for ch := range c.watchers {
			select { // a stream that has not taken the last one skips this one
			case ch <- ov:
			default:
			}
		}
		c.mu.Unlock()
	}
}

// Watching reports whether any stream is open (for tests and benchmarks).
func (c *Console) Watching() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.watchers) > 0
}
