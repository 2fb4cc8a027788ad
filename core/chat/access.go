package chat

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/salamhq/salam/wire"
)

// access answers who may publish in and read (subscribe, history) a
// channel, from a small cache in front of the store. Changes made through
// this service forget their entry at once; other processes' changes are
// seen within AccessCacheTTL.
type access struct {
	store Store
	ttl   time.Duration

	mu      sync.Mutex
	entries map[accessKey]accessEntry
}

type accessKey struct{ channel, user string }

// accessEntry is what the store said about a user and a channel.
type accessEntry struct {
	exists  bool
	kind    Kind
	public  bool
	open    bool // Channel.Open
	role    Role // "" when not a member
	expires time.Time
}

func newAccess(store Store, ttl time.Duration) *access {
	return &access{store: store, ttl: ttl, entries: make(map[accessKey]accessEntry)}
}

// canPublish returns 0 when user may publish in channel (messages,
// reactions, receipts), else the code to refuse with: members, and anyone
// not banned for an open public broadcast channel, whose audience is too
// large to add as members (a live room's viewers).
func (a *access) canPublish(ctx context.Context, channel, user string) (wire.Code, error) {
	e, err := a.get(ctx, channel, user)
	if err != nil {
		return 0, err
	}
	if e.open && e.readableByAll() {
		return 0, nil
	}
	return e.memberCode(), nil
}

// canRead returns 0 when user may subscribe to channel and read its history:
// members, and anyone not banned for a public broadcast channel.
func (a *access) canRead(ctx context.Context, channel, user string) (wire.Code, error) {
	e, err := a.get(ctx, channel, user)
	if err != nil {
		return 0, err
	}
	if e.readableByAll() {
		return 0, nil
	}
	return e.memberCode(), nil
}

// readableByAll reports a public broadcast channel that the user is not
// banned from: anyone may read it, member or not.
func (e accessEntry) readableByAll() bool {
	return e.exists && e.kind == KindBroadcast && e.public && e.role != RoleBanned
}

func (e accessEntry) memberCode() wire.Code {
	switch {
	case !e.exists:
		return wire.CodeChannelNotFound
	case e.role == RoleBanned:
		return wire.CodeBanned
	case e.role == "":
		return wire.CodeNotMember
	}
	return 0
}

func (a *access) get(ctx context.Context, channel, user string) (accessEntry, error) {
	key := accessKey{channel, user}
	now := time.Now()
	a.mu.Lock()
	e, ok := a.entries[key]
	a.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout) // only on a miss: a hit is on every publish
	defer cancel()
	ch, err := a.store.Channel(ctx, channel)
	if errors.Is(err, ErrNotFound) {
		e = accessEntry{}
	} else if err != nil {
		return e, err
	} else {
		e = accessEntry{exists: true, kind: ch.Kind, public: ch.Public, open: ch.Open}
		m, err := a.store.Member(ctx, channel, user)
		switch {
		case err == nil:
			e.role = m.Role
		case !errors.Is(err, ErrNotFound):
			return e, err
		}
	}
	e.expires = now.Add(a.ttl)
	a.mu.Lock()
	if len(a.entries) > 1<<20 { // bound memory: start over rather than track recency
		clear(a.entries)
	}
	a.entries[key] = e
	a.mu.Unlock()
	return e, nil
}

// forget drops the cached answer for one user of a channel.
func (a *access) forget(channel, user string) {
	a.mu.Lock()
	delete(a.entries, accessKey{channel, user})
	a.mu.Unlock()
}

// forgetChannel drops every cached answer about channel (deleted, made
// public or private, opened or closed).
func (a *access) forgetChannel(channel string) {
	a.mu.Lock()
	for k := range a.entries {
		if k.channel == channel {
			delete(a.entries, k)
		}
	}
	a.mu.Unlock()
}
