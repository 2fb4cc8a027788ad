// Package presence is the presence logic of core: who is online, last seen,
// status text and invisible mode, and the change events pushed to the
// people who share channels with a user.
//
// # Data flow
//
// Edges aggregate liveness: each edge sends one beat per interval listing
// the users it holds at least one live connection of (however many devices),
// plus immediate deltas when a user's first connection on the edge opens or
// the last one closes. Core turns those into Store calls:
//
//	edge beat    → Store.Beat(edge, users, ttl, now)   → cameOnline
//	edge delta   → Store.Beat (connect) / Store.Leave (disconnect) → cameOnline / wentOffline
//	every second → Store.Expire(now, limit)            → users of crashed or silent edges
//
// Every returned transition goes through Visible into one Coalescer, whose
// emit publishes the event. The ttl of a beat must exceed the beat interval
// with room for one lost beat (for example interval 10 s, ttl 25 s), so a
// crashed edge's users turn offline within ttl plus the Expire interval.
//
// # How many change events
//
// The Coalescer emits at most 1 + ⌈D/window⌉ changes per user whose
// transitions span D. Edges batch a user's connects and disconnects for
// 250 ms (edge.presenceFlush) and report only the state at each flush, so a
// user whose connections come and go for D seconds causes at most
//
//	1 + ⌈(D + 250 ms) / Config.Window⌉
//
// presence frames per channel, the last one their final state: 100
// connects and disconnects in 5 s give at most 7 with the default 1 s
// window (cmd/salam's TestPresenceFlapping measures it). The bound holds per
// core process: reports of one edge are spread over the core queue group,
// and each process coalesces what it receives.
//
// # Queries
//
// Query is the one answer to "who of these users is online?", for the
// WebSocket (a presence frame forwarded by an edge on
// bus.PresenceQuerySubject, answered by onQuery) and for REST (api.go,
// documented by openapi.yaml): at most Config.MaxQueryUsers distinct users
// (ErrTooManyUsers, wire code 200, beyond), each shown as the asker may see
// them (see Query for the privacy rule).
//
// # Interfaces
//
// Store is declared here, its consumer, and implemented in storage/memory
// and storage/redis; storage/presencetest is its contract suite. Each method
// documents its atomicity, ordering and expiry.
//
// # Goroutines and locks
//
// Queries run on their own goroutines, at most Config.QueryConcurrency at
// once per process (bus.Serve); Stop waits for them. A Coalescer owns one
// goroutine (started by NewCoalescer, ended by Close) and one timer for all
// users. Coalescer.mu guards its maps and queue and is
// held while emit runs, so emit must not call back into the Coalescer.
//
// # Owns / must not do
//
// Owns: the Store contract, argument validation shared by the backends,
// invisible-mode visibility and event coalescing.
// Must not: import edge or any storage implementation, or read a clock
// inside Store semantics (times are passed in).
package presence
