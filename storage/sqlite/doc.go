// Package sqlite is the embedded chat.Store of `salam up`: one SQLite
// database file, reached through modernc.org/sqlite (pure Go, no cgo) and
// database/sql. It passes the contract suite in storage/chattest.
//
// # Layout
//
// The schema lives in migrations/NNNN_name.sql, embedded in the binary and
// applied by Open in one transaction, recorded in schema_migrations; a
// database written by a newer binary is refused (ErrSchemaTooNew). Times
// are kept as Unix microseconds (UTC), attachments as JSON, reactions one
// row per (message, user, emoji); every statement is served by an index
// (TestQueryPlans keeps it so).
//
// # Concurrency and durability
//
// The file is in WAL mode. A Store has two connection pools: one writer
// connection, whose transactions begin IMMEDIATE (taking SQLite's write
// lock at once), and a few read-only connections, each reading the last
// committed snapshot while the writer works. Writers of one process queue
// for the writer connection inside database/sql; writers of several
// processes sharing the file queue on SQLite's lock, waiting up to
// Options.BusyTimeout. Every write method is one transaction, so a
// read-modify-write (a member cap, a cursor, a reaction) cannot interleave
// with another writer. The Store starts no goroutine of its own and holds
// no lock of its own besides Close's once.
//
// Append writes a batch in one transaction: existing keys are looked up,
// each channel's last_seq is advanced by its count of new messages, and
// the rows are inserted; the advance and the rows commit together, so
// sequences are gap-free. With Synchronous "NORMAL" (the default) a
// committed Append survives the death of the process (TestCrash… kills a
// child with SIGKILL mid-append); "FULL" also survives power loss.
//
// # Owns / must not do
//
// Owns: the SQLite schema and its migrations, the mapping between chat
// types and rows, the sequence counter of each channel.
// Must not: decide who may do what, validate ids, limits or sizes (core/chat
// does), read or interpret message bodies (they may be end-to-end
// encrypted), or be opened on ":memory:" (its two pools need one file).
package sqlite
