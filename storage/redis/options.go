package redis

import (
	"fmt"
	"strings"
	"time"
)

// Options configure Presence and Limiter. The zero value of every field
// means its default.
type Options struct {
	// Prefix starts every key. Default "salam:". It must not contain '{'
	// or '}', which would move the hash tags that keep each user's keys in
	// one Redis Cluster slot.
	Prefix string

	// Shards is the number of expiry index sorted sets (<prefix>{pexp:<n>}),
	// spread over the cluster's slots so that no single key takes every
	// beat. Default 16; 1–1024. Changing it on a live deployment strands
	// index entries in the old shards until their users beat again, so
	// change it only with every edge restarted.
	Shards int

	// Grace is how long past the latest expiry of a user's entries their
	// edge set lives in Redis (a key TTL, in Redis's clock). Expire normally
	// takes the user offline before that; if no Expire runs within Grace,
	// the key vanishes and the user reads offline at once, and the next
	// Expire reports the transition late (see Backstop in the package doc).
	// Default 30 s; at least 1 s.
	Grace time.Duration

	// LastSeenTTL is how long a user's info hash (last seen, status text,
	// invisible mode) lives after its last write; every beat, leave, expiry
	// and status change renews it. After it, the user reads as unknown.
	// Default 30 days; at least 1 minute.
	LastSeenTTL time.Duration
}

// Defaults.
const (
	DefaultPrefix      = "salam:"
	DefaultShards      = 16
	DefaultGrace       = 30 * time.Second
	DefaultLastSeenTTL = 30 * 24 * time.Hour
)

// EnsureDefaults returns o with every zero field set to its default.
func (o Options) EnsureDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Shards == 0 {
		o.Shards = DefaultShards
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.LastSeenTTL == 0 {
		o.LastSeenTTL = DefaultLastSeenTTL
	}
	return o
}

// Validate checks o after EnsureDefaults; the error names the bad field and
// wraps ErrInvalidOptions.
func (o Options) Validate() error {
	switch {
	case strings.ContainsAny(o.Prefix, "{}"):
		return fmt.Errorf("%w: prefix %q contains a brace", ErrInvalidOptions, o.Prefix)
	case o.Shards < 1 || o.Shards > 1024:
		return fmt.Errorf("%w: shards %d not in 1–1024", ErrInvalidOptions, o.Shards)
	case o.Grace < time.Second:
		return fmt.Errorf("%w: grace %v shorter than 1s", ErrInvalidOptions, o.Grace)
	case o.LastSeenTTL < time.Minute:
		return fmt.Errorf("%w: last_seen_ttl %v shorter than 1m", ErrInvalidOptions, o.LastSeenTTL)
	}
	return nil
}
