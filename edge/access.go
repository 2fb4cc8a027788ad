package edge

import (
	"sync"
	"time"
)

// accessCache remembers which users core allowed to read which channels,
// so that a plain subscribe (no resume) skips the round trip to core. An
// entry lives accessTTL, and a member-left event for the user drops it at
// once on every edge that has subscribers of the channel (the others let
// it expire). A resume always asks core, which replays the missed messages.
type accessCache struct {
	mu      sync.Mutex
	allowed map[accessKey]int64 // → unix nanos when the answer expires
}

type accessKey struct{ channel, user string }

// accessTTL bounds how long a removed member who is not connected to a
// subscribed edge may still subscribe.
const accessTTL = 30 * time.Second

// maxAccessEntries bounds the cache; past it, it starts over.
const maxAccessEntries = 1 << 18

func (a *accessCache) ok(channel, user string, now int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.allowed[accessKey{channel, user}]
	return ok && now < exp
}

func (a *accessCache) allow(channel, user string, now int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.allowed == nil || len(a.allowed) >= maxAccessEntries {
		a.allowed = make(map[accessKey]int64)
	}
	a.allowed[accessKey{channel, user}] = now + int64(accessTTL)
}

func (a *accessCache) forget(channel, user string) {
	a.mu.Lock()
	delete(a.allowed, accessKey{channel, user})
	a.mu.Unlock()
}
