package edge

import (
	"sync"
)

// userState is shared by all of one user's connections on this edge: it
// carries the typing debounce.
type userState struct {
	id string

	mu       sync.Mutex
	typingAt map[string]int64 // channel → unix nanos of the last typing start relayed
	refs     int              // guarded by users.mu
}

// relayTyping reports whether a typing start in channel is relayed: at most
// one per user per channel per typingInterval on this edge, whatever the
// number of the user's devices.
func (u *userState) relayTyping(channel string, now int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now-u.typingAt[channel] < int64(typingInterval) {
		return false
	}
	if u.typingAt == nil {
		u.typingAt = make(map[string]int64)
	}
	u.typingAt[channel] = now
	return true
}

// users maps user ids to their shared state while they have connections.
type users struct {
	mu sync.Mutex
	m  map[string]*userState
}

func (us *users) acquire(id string) *userState {
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.m == nil {
		us.m = make(map[string]*userState)
	}
	u := us.m[id]
	if u == nil {
		u = &userState{id: id}
		us.m[id] = u
	}
	u.refs++
	return u
}

func (us *users) release(u *userState) {
	us.mu.Lock()
	defer us.mu.Unlock()
	if u.refs--; u.refs == 0 {
		delete(us.m, u.id)
	}
}
