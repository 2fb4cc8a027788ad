package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/salamhq/salam/internal/bus"
)

// startFlushTimeout bounds Start's wait for the server to confirm the
// subscriptions.
const startFlushTimeout = 5 * time.Second

// Service answers edge publish requests for ephemeral channels: it numbers
// each message in its channel, publishes the event, and replies with the ack.
type Service struct {
	nc       *nats.Conn
	workers  int
	log      *slog.Logger
	metrics  *metrics
	channels channels

	mu      sync.Mutex // guards the fields below
	started bool
	stopped bool
	subs    []*nats.Subscription
	exited  []chan struct{} // closed when the matching sub's goroutine has returned
}

// New returns a service that will answer publishes on nc once started. Its
// metrics are registered on reg (nil: not registered); log nil discards.
func New(nc *nats.Conn, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil NATS connection", ErrInvalidConfig)
	}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Service{nc: nc, workers: cfg.Workers, log: log.With("component", "relay"), metrics: m}, nil
}

// Start subscribes cfg.Workers times to bus.PublishWildcard in queue group
// bus.QueueCore and returns once the server has the subscriptions.
func (s *Service) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped:
		return ErrStopped
	case s.started:
		return ErrStarted
	}
	for range s.workers {
		w := &worker{s: s}
		sub, err := s.nc.QueueSubscribe(bus.PublishWildcard, bus.QueueCore, w.handle)
		if err != nil {
			s.unsubscribeLocked()
			return fmt.Errorf("relay: subscribe: %w", err)
		}
		exited := make(chan struct{})
		sub.SetClosedHandler(func(string) { close(exited) })
		s.subs = append(s.subs, sub)
		s.exited = append(s.exited, exited)
	}
	if err := s.nc.FlushTimeout(startFlushTimeout); err != nil {
		s.unsubscribeLocked()
		return fmt.Errorf("relay: subscribe: %w", err)
	}
	// A connection closed before the closed handlers were set would leave
	// Stop waiting on them; refuse to start on it instead.
	for _, sub := range s.subs {
		if !sub.IsValid() {
			s.unsubscribeLocked()
			return fmt.Errorf("relay: subscribe: %w", nats.ErrConnectionClosed)
		}
	}
	s.started = true
	s.log.Info("relay started", "workers", s.workers, "subject", bus.PublishWildcard, "queue", bus.QueueCore)
	return nil
}

func (s *Service) unsubscribeLocked() {
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
	s.subs, s.exited = nil, nil
}

// Stop drains the subscriptions: the server stops sending requests to this
// service, requests already received are answered, and Stop returns when
// every worker goroutine has returned, or with ctx's error if ctx ends first
// (the drain then continues in the background). Other queue-group members
// keep answering meanwhile. Stop is idempotent; a stopped service cannot be
// started again.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	subs, exited := s.subs, s.exited
	s.subs, s.exited = nil, nil
	s.stopped = true
	s.mu.Unlock()

	for _, sub := range subs {
		// On a closed connection the subscription is already closed and its
		// goroutine exits by itself.
		if err := sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) &&
			!errors.Is(err, nats.ErrBadSubscription) {
			s.log.Warn("relay drain", "err", err)
		}
	}
	for _, ch := range exited {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("relay: stop: %w", ctx.Err())
		}
	}
	if len(subs) > 0 {
		s.log.Info("relay stopped")
	}
	return nil
}
