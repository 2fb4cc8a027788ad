package presence

import (
	"sync"
	"time"
)

// Coalescer turns a stream of presence changes into at most one event per
// user per window, so that a user flapping online/offline (a phone walking
// between cells) does not flood the people who share channels with them.
//
// The first change of a user is emitted at once and opens a window. Changes
// inside the window are held; only the latest is kept. When the window
// ends, the latest state is emitted if it differs (Equal) from the last one
// emitted, which opens a new window; otherwise the user is forgotten. So a
// flap online→offline→online inside one window emits nothing more, and
// changes spread over a span D emit at most 1 + ⌈D/window⌉ events per user.
//
// Observe is meant for changes: once a user's windows have closed, the next
// Observe is emitted even if it equals the last emitted state.
//
// One goroutine with one timer serves every user (no timer per user): since
// every window has the same length, windows end in the order they opened,
// and a FIFO queue of open windows keeps the next deadline at its head.
// Memory is proportional to the users with an open window.
type Coalescer struct {
	window time.Duration
	emit   func(State)
	now    func() time.Time

	wake chan struct{} // cap 1: a window opened on an empty queue
	done chan struct{} // closed by Close
	exit chan struct{} // closed when run returns

	mu     sync.Mutex // guards everything below, and calls to emit
	users  map[string]*userWindow
	queue  []*userWindow // open windows, by deadline; queue[head:] is live
	head   int
	closed bool
}

// userWindow is one user's open window.
type userWindow struct {
	last     State     // last state emitted
	latest   State     // latest state observed inside the window
	held     bool      // latest was observed after last was emitted
	deadline time.Time // end of the window
}

// NewCoalescer starts a Coalescer that calls emit for each change to
// publish. emit is called with the Coalescer's lock held, from Observe's
// goroutine (first change of a user) or the Coalescer's own goroutine
// (window ends), one call at a time, in the order of the decisions; it must
// be quick (hand the state to a queue) and must not call Observe or Close.
// window must be positive.
func NewCoalescer(window time.Duration, emit func(State)) *Coalescer {
	c := newCoalescer(window, emit, time.Now)
	go c.run()
	return c
}

// newCoalescer builds a Coalescer without starting its goroutine; tests
// drive it through tick with a fake clock.
func newCoalescer(window time.Duration, emit func(State), now func() time.Time) *Coalescer {
	if window <= 0 {
		panic("presence: NewCoalescer window must be positive")
	}
	return &Coalescer{
		window: window,
		emit:   emit,
		now:    now,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		exit:   make(chan struct{}),
		users:  make(map[string]*userWindow),
	}
}

// Observe reports a change of s.User's state. After Close it does nothing.
func (c *Coalescer) Observe(s State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if w := c.users[s.User]; w != nil {
		w.latest, w.held = s, true
		return
	}
	c.emit(s)
	w := &userWindow{last: s, deadline: c.now().Add(c.window)}
	c.users[s.User] = w
	if c.push(w) {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// Close stops the goroutine and waits for it. Held changes are dropped:
// presence events are ephemeral, and subscribers re-read state on reconnect.
func (c *Coalescer) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.done)
	c.mu.Unlock()
	<-c.exit
}

// push appends w to the queue and reports whether the queue was empty.
func (c *Coalescer) push(w *userWindow) (wasEmpty bool) {
	wasEmpty = c.head == len(c.queue)
	if c.head > 0 && c.head >= len(c.queue)/2 {
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue, c.head = c.queue[:n], 0
	}
	c.queue = append(c.queue, w)
	return wasEmpty
}

// tick ends every window whose deadline is not after now, and returns the
// next deadline, if any.
func (c *Coalescer) tick(now time.Time) (next time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.head < len(c.queue) {
		w := c.queue[c.head]
		if w.deadline.After(now) {
			return w.deadline, true
		}
		c.queue[c.head] = nil
		c.head++
		if w.held && !Equal(w.latest, w.last) {
			if !c.closed {
				c.emit(w.latest)
			}
			w.last, w.held = w.latest, false
			w.deadline = now.Add(c.window)
			c.push(w)
			continue
		}
		delete(c.users, w.last.User)
	}
	return time.Time{}, false
}

// run is the Coalescer's goroutine: it sleeps until the earliest deadline
// (or until a window opens on an empty queue) and ends due windows.
func (c *Coalescer) run() {
	defer close(c.exit)
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		if next, ok := c.tick(c.now()); ok {
			t.Reset(next.Sub(c.now()))
		} else {
			t.Stop()
		}
		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-t.C:
		}
	}
}
