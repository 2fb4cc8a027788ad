package main

import (
	"context"
	"time"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/core/live"
	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/edge"
	"github.com/salamhq/salam/storage/memory"
	"github.com/salamhq/salam/storage/postgres"
	"github.com/salamhq/salam/storage/redis"
	"github.com/salamhq/salam/storage/sqlite"
)

// store is the durable state of core: chat and the call history, in one
// database.
type store interface {
	chat.Store
	calls.Store
	live.KeyStore
}

// openStore opens the store the configuration names: Postgres in
// production, the embedded SQLite file otherwise.
func openStore(cfg *config) (store, error) {
	if cfg.Store.PostgresURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return postgres.Open(ctx, cfg.Store.PostgresURL, postgres.Options{})
	}
	return sqlite.Open(cfg.Store.SQLitePath, sqlite.Options{Synchronous: cfg.Store.Synchronous})
}

// openPresence opens the presence store: Redis when configured (several
// core processes share it), in memory otherwise.
func openPresence(cfg *config) (presence.Store, func(), error) {
	if cfg.Presence.RedisAddr == "" {
		return memory.NewPresence(), func() {}, nil
	}
	p, err := redis.Open(cfg.Presence.RedisAddr, redis.Options{})
	if err != nil {
		return nil, nil, err
	}
	return p, p.Close, nil
}

// channelsOf is the presence audience: the DMs and groups of a user whose
// member cap is at most maxMembers (presence.announce_max_members). Live
// rooms (broadcast channels) and bigger groups get no presence frames.
type channelsOf struct {
	store      chat.Store
	maxMembers int
}

func (a channelsOf) ChannelsOf(ctx context.Context, user string) ([]string, error) {
	chs, err := a.store.ChannelsOf(ctx, user)
	ids := make([]string, 0, len(chs))
	for _, ch := range chs {
		if ch.Kind == chat.KindDM || ch.Kind == chat.KindGroup && ch.MemberCap > 0 && ch.MemberCap <= a.maxMembers {
			ids = append(ids, ch.ID)
		}
	}
	return ids, err
}

// openLimiter opens the limiter edges share through Redis, when Redis is
// configured; without it each edge limits on its own (nil).
func openLimiter(cfg *config) (edge.Limiter, func(), error) {
	if cfg.Presence.RedisAddr == "" {
		return nil, func() {}, nil
	}
	p, err := redis.Open(cfg.Presence.RedisAddr, redis.Options{})
	if err != nil {
		return nil, nil, err
	}
	l, err := redis.NewLimiter(p.Client(), redis.Options{})
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	return l, p.Close, nil
}
