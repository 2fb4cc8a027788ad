package bus

import (
	"sync"

	"github.com/nats-io/nats.go"
)

// Served is a subscription whose requests run concurrently, see Serve.
type Served struct {
	sub     *nats.Subscription
	slots   chan struct{}
	mu      sync.Mutex // orders running.Add before Stop's Wait
	stopped bool
	running sync.WaitGroup
}

// Serve answers the requests of subject in queue group QueueCore with
// handle, up to limit at once, each on its own goroutine: nats.go runs a
// subscription's callbacks one by one, and one slow store call would hold
// every request behind it. When limit handlers run, delivery waits (NATS
// buffers the rest for the subscription).
func Serve(nc *nats.Conn, subject string, limit int, handle func(*nats.Msg)) (*Served, error) {
	s := &Served{slots: make(chan struct{}, max(limit, 1))}
	sub, err := nc.QueueSubscribe(subject, QueueCore, func(m *nats.Msg) {
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return
		}
		s.running.Add(1)
		s.mu.Unlock()
		s.slots <- struct{}{}
		go func() {
			defer func() { <-s.slots; s.running.Done() }()
			handle(m)
		}()
	})
	if err != nil {
		return nil, err
	}
	s.sub = sub
	return s, nil
}

// Stop ends the subscription and waits for the handlers still running.
func (s *Served) Stop() {
	s.sub.Unsubscribe()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.running.Wait()
}
