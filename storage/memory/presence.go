package memory

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/salamhq/salam/core/presence"
)

var _ presence.Store = (*Presence)(nil)

// Presence is presence.Store in one process's memory, for the embedded
// `salam up`. Times are kept as Unix milliseconds, like storage/redis.
// Nothing expires on its own: Expire is the only way an entry ends without
// Leave. A user is remembered (last seen, status) for the life of the
// process once seen (a small struct plus the ids per user).
type Presence struct {
	mu     sync.Mutex       // guards everything below
	users  map[string]*user //
	online expiryHeap       // online users by latest expiry, for Expire
}

// user is one user's presence. It is online iff len(edges) > 0.
type user struct {
	id        string
	edges     map[string]int64 // edge → expiry (Unix ms)
	maxExp    int64            // latest expiry in edges; the heap key
	idx       int              // position in Presence.online; -1 when offline
	lastSeen  int64            // Unix ms; valid if seen
	seen      bool             //
	status    string           //
	invisible bool             //
}

// NewPresence returns an empty store.
func NewPresence() *Presence {
	return &Presence{users: make(map[string]*user)}
}

// Beat implements presence.Store. The whole call holds one lock, so it is
// atomic across users too (more than the contract asks).
func (p *Presence) Beat(_ context.Context, edge string, users []string, ttl time.Duration, now time.Time) ([]string, error) {
	if err := checkIDs(edge, users); err != nil {
		return nil, err
	}
	if err := presence.ValidTTL(ttl); err != nil {
		return nil, err
	}
	nowMs, exp := now.UnixMilli(), now.Add(ttl).UnixMilli()
	var came []string
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range users {
		u := p.user(id)
		wasOnline := len(u.edges) > 0
		if u.edges == nil {
			u.edges = make(map[string]int64, 1)
		}
		prune(u.edges, nowMs)
		u.edges[edge] = exp
		u.maxExp = latest(u.edges)
		if wasOnline {
			heap.Fix(&p.online, u.idx)
		} else {
			heap.Push(&p.online, u)
			came = append(came, id)
		}
	}
	return came, nil
}

// Leave implements presence.Store; atomic across users, like Beat.
func (p *Presence) Leave(_ context.Context, edge string, users []string, at time.Time) ([]string, error) {
	if err := checkIDs(edge, users); err != nil {
		return nil, err
	}
	atMs := at.UnixMilli()
	var went []string
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range users {
		u := p.users[id]
		if u == nil {
			continue
		}
		if _, ok := u.edges[edge]; !ok {
			continue
		}
		delete(u.edges, edge)
		prune(u.edges, atMs)
		if len(u.edges) > 0 {
			u.maxExp = latest(u.edges)
			heap.Fix(&p.online, u.idx)
			continue
		}
		heap.Remove(&p.online, u.idx)
		u.goOffline(atMs)
		went = append(went, id)
	}
	return went, nil
}

// Expire implements presence.Store. The heap is exact (keyed by each
// online user's latest expiry), so every candidate examined is expired.
func (p *Presence) Expire(_ context.Context, now time.Time, limit int) ([]presence.State, error) {
	if limit < 1 {
		return nil, errInvalidLimit(limit)
	}
	nowMs := now.UnixMilli()
	var out []presence.State
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(out) < limit && len(p.online) > 0 && p.online[0].maxExp <= nowMs {
		u := heap.Pop(&p.online).(*user)
		u.goOffline(u.maxExp)
		out = append(out, u.state())
	}
	return out, nil
}

// Get implements presence.Store.
func (p *Presence) Get(_ context.Context, users []string) ([]presence.State, error) {
	for _, id := range users {
		if err := presence.ValidID("user", id); err != nil {
			return nil, err
		}
	}
	out := make([]presence.State, len(users))
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, id := range users {
		if u := p.users[id]; u != nil {
			out[i] = u.state()
		} else {
			out[i] = presence.State{User: id}
		}
	}
	return out, nil
}

// SetStatus implements presence.Store.
func (p *Presence) SetStatus(_ context.Context, id, status string, invisible bool) error {
	if err := presence.ValidID("user", id); err != nil {
		return err
	}
	if err := presence.ValidStatus(status); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.user(id)
	u.status, u.invisible = status, invisible
	return nil
}

// user returns id's record, creating it. p.mu must be held.
func (p *Presence) user(id string) *user {
	u := p.users[id]
	if u == nil {
		u = &user{id: id, idx: -1}
		p.users[id] = u
	}
	return u
}

func (u *user) goOffline(lastSeen int64) {
	clear(u.edges)
	u.maxExp, u.idx = 0, -1
	u.lastSeen, u.seen = lastSeen, true
}

func (u *user) state() presence.State {
	s := presence.State{User: u.id, Online: len(u.edges) > 0, Status: u.status, Invisible: u.invisible}
	if !s.Online && u.seen {
		s.LastSeen = time.UnixMilli(u.lastSeen).UTC()
	}
	return s
}

// prune drops entries that expired by now (expiry ≤ now).
func prune(edges map[string]int64, now int64) {
	for e, exp := range edges {
		if exp <= now {
			delete(edges, e)
		}
	}
}

func latest(edges map[string]int64) int64 {
	var m int64
	first := true
	for _, exp := range edges {
		if first || exp > m {
			m, first = exp, false
		}
	}
	return m
}

func checkIDs(edge string, users []string) error {
	if err := presence.ValidID("edge", edge); err != nil {
		return err
	}
	for _, id := range users {
		if err := presence.ValidID("user", id); err != nil {
			return err
		}
	}
	return nil
}

// expiryHeap is a min-heap of online users by maxExp; user.idx tracks each
// user's position so Beat and Leave can fix it in O(log n).
type expiryHeap []*user

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].maxExp < h[j].maxExp }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *expiryHeap) Push(x any) {
	u := x.(*user)
	u.idx = len(*h)
	*h = append(*h, u)
}
func (h *expiryHeap) Pop() any {
	old := *h
	u := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	u.idx = -1
	return u
}
