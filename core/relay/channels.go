package relay

import (
	"sync"

	"github.com/salamhq/salam/internal/bus"
)

// channels holds the sequence state of every channel published to since the
// process started. Entries are never removed: removing one would restart its
// numbering at 1. Each costs about the length of its name twice plus ~80 bytes.
type channels struct {
	mu sync.Mutex // guards m (not the channels in it)
	m  map[string]*channel
}

// channel is the sequence state of one channel.
type channel struct {
	subject string // bus.EventSubject(name), built once

	// mu is held across numbering a message and handing its event to the
	// NATS connection, so that events of one channel leave in sequence
	// order whatever the number of workers.
	mu  sync.Mutex
	seq uint64 // last sequence whose event was published; guarded by mu
}

// get returns the state of name, creating it on first use; created reports
// whether it did.
func (c *channels) get(name string) (ch *channel, created bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch = c.m[name]; ch != nil {
		return ch, false
	}
	if c.m == nil {
		c.m = make(map[string]*channel)
	}
	ch = &channel{subject: bus.EventSubject(name)}
	c.m[name] = ch
	return ch, true
}
