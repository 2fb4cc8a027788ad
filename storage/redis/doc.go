// Package redis implements presence.Store (Presence) and a distributed rate
// limiter (Limiter) on Redis 7.0 or later, standalone or Cluster, with
// rueidis. Every core process shares the same keys; edges never talk to
// Redis directly.
//
// # Keys
//
//	<prefix>{u:<user>}:edges   ZSET  edge → expiry (Unix ms)       TTL ttl + Grace, extended by beats
//	<prefix>{u:<user>}:info    HASH  ls (last seen, Unix ms),      TTL LastSeenTTL, renewed by every write
//	                                 on ("1" while online), st (status), inv ("1" = invisible)
//	<prefix>{pexp:<n>}         ZSET  user → a recent expiry         no TTL; Expire removes entries
//	<prefix>{rl:<key>}         STRING GCRA arrival time (Unix µs)   TTL = time until the bucket is full
//
// A user's two keys share the hash tag {u:<user>}, so every script given
// both runs on one Cluster slot; the expiry index is sharded over Shards
// keys with their own tags, shard = FNV-1a(user) mod Shards, so Expire reads
// each shard by score with single-key commands. No command or script ever
// names keys of two slots (TestClusterContract runs the contract suite on a
// real Cluster, which refuses such commands). The edge set exists exactly
// while the user is online.
//
// # Cost
//
// Beat, steady state (users already online on the edge): per user ZADD XX
// CH of the edge set, PEXPIRE GT of the edge set, PEXPIRE of the info hash,
// plus one ZADD per expiry shard listing its users — 3·n + ≤ Shards plain
// commands in one pipeline (one round trip), no Lua, no per-connection
// work. Users whose entry was absent (ZADD XX CH answered 0) take one
// EVALSHA each in a second pipeline: the atomic offline→online transition.
// Leave: one EVALSHA per user. Expire: one ZRANGEBYSCORE per shard, one
// EVALSHA per candidate, then one script per shard touched and one ZADD GT
// per live candidate: three round trips. Get: one EVALSHA per user (a
// second pipeline only for users the backstop took offline). SetStatus and
// Limiter.Allow: one EVALSHA, auto-pipelined with other goroutines' calls.
//
// Scripts are sent by SHA (EVALSHA); a NOSCRIPT answer (restart, failover,
// SCRIPT FLUSH) loads every script on every node and retries the affected
// commands once.
//
// # Atomicity
//
// Each transition is one Lua script on one user's keys, so it is atomic
// and only one caller can make it: that is how concurrent Expire calls in
// many processes return each user once. The expiry index is updated outside
// those scripts (it lives in other slots); its score is a hint no later
// than the user's latest expiry: Beat overwrites it with the beat's expiry,
// Expire re-scores users it finds live (ZADD GT) and removes users it
// finds offline only if their score has not moved past now meanwhile (a
// concurrent Beat wins). A stale hint costs Expire one script; it never
// hides an expired user.
//
// # Backstop
//
// Key TTLs run on Redis's clock, not on the times callers pass. If no core
// process runs Expire within Grace after a user's last expiry, the edge set
// expires by itself and Get reads the user offline at once, with the index
// score as LastSeen. The next Expire still reports that offline transition,
// late, once; but if the user beats again first, Beat reports them online
// (cameOnline) and the offline transition is never reported, so
// subscribers see "online" twice. The index shards have no TTL, so Expire
// must run somewhere for them to stay small.
//
// # Owns / must not do
//
// Owns: the Redis key layout and scripts for presence and rate limiting.
// Must not: import edge, issue a command spanning slots, read a clock for
// presence state, or block on Redis while holding a lock (it holds none).
package redis
