// Package chattest is the contract suite of chat.Store: one set of tests that
// every implementation (storage/sqlite, storage/postgres, and any twin added
// later) must pass, so that core/chat behaves the same on each of them.
//
// An implementation's test calls Run with a function that opens a fresh,
// empty store:
//
//	func TestContract(t *testing.T) {
//		chattest.Run(t, func(t *testing.T) chat.Store {
//			s, err := sqlite.Open(filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite is the executable reading of the doc comments in
// core/chat/store.go. Where those comments leave a choice open, the suite
// pins one reading and says so at the test (look for "Reading:").
//
// # Owns / must not do
//
// Owns: the behaviour every chat.Store shares, including its concurrency
// guarantees (gap-free sequences, idempotent appends, atomic member caps).
// Must not: depend on an implementation, reach into a database, run
// subtests in parallel (open may hand out one schema at a time), or test
// what the contract leaves to core/chat (limit validation, id syntax,
// permissions).
package chattest
