// Package presencetest is the contract suite of presence.Store, run by
// every implementation (storage/memory, storage/redis), plus the contract
// suite of the shared rate limiter and a Beat benchmark helper.
//
// An implementation's test calls Run with a function that opens a fresh,
// empty store:
//
//	func TestContract(t *testing.T) {
//		presencetest.Run(t, func(t *testing.T) presence.Store {
//			return memory.NewPresence()
//		})
//	}
//
// The suite is the executable reading of the doc comments in
// core/presence/store.go. Where those leave a choice open, the suite pins
// one reading and says so at the test (look for "Reading:"). Every time is
// passed explicitly, far from the real clock, and nothing sleeps.
//
// # Owns / must not do
//
// Owns: the behaviour every presence.Store shares, including exactly-once
// transitions under concurrent Expire callers.
// Must not: depend on an implementation, reach into Redis, or assert on
// timing (benchmarks measure speed).
package presencetest
