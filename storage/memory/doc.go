// Package memory holds in-process twins of the shared backends, for the
// embedded `salam up` and for tests: Presence implements presence.Store and
// Limiter mirrors storage/redis.Limiter. Both pass the same contract suites
// as their Redis counterparts (storage/presencetest).
//
// # Locks
//
// Each type has one mutex, held for a whole call and never across a call
// into other code, so every call is atomic, even across the users of one
// batch. Nothing starts a goroutine.
//
// # Owns / must not do
//
// Owns: in-memory presence state and rate-limit buckets.
// Must not: read a clock for presence (times are passed in), share state
// between processes (use storage/redis for that), or import edge.
package memory
