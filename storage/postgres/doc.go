// Package postgres is the production chat.Store: PostgreSQL through a pgx
// connection pool, shared by every core process of a region.
//
// # Schema
//
// The tables live in one schema (Options.Schema) and are created by the
// versioned SQL files under migrations/, embedded in the binary and applied
// by Open in one transaction under an advisory lock, so that processes
// starting together migrate once (schema_migrations records the versions).
// A released migration is never edited. Each must work with the previous
// release's code, which keeps running against the migrated schema during
// a rolling deploy; queries name their result columns for that reason.
//
//	channels   id → kind, name, topic, public, member_cap, created_by,
//	           created_at, last_seq (the highest sequence assigned)
//	members    (channel, user_id) → role, joined_at, read_seq,
//	           delivered_seq; index (user_id, channel)
//	messages   (channel, seq) → sender, client_id, content, flags, digest;
//	           unique (sender, client_id); partial index on pinned
//	reactions  (channel, seq, user_id, emoji)
//
// Every query walks one of those indexes; its method's comment names it.
// Text keys are COLLATE "C", so orders and ranges compare bytes, as Go does.
//
// # Sequences and idempotency
//
// Append numbers a batch in one statement (append.go): it looks up the
// batch's (sender, client_id) keys, raises each channel's last_seq by its
// count of new messages and inserts them with the sequences just reserved.
// The UPDATE's row lock serializes the writers of one channel, in every
// process, until commit, and increment and inserts commit together, so
// sequences are gap-free and increase in commit order. Batches naming
// several channels lock them first in id order, so that writers never wait
// in a cycle. A writer that loses a race for a key (another process
// committed it after this statement began) gets a unique violation and
// runs the batch again, which then reports a duplicate. That violation is
// logged by the server as an ERROR on messages_sender_client_id: expected
// when two processes handle retries of one send at once, and rare.
//
// # Round trips
//
// Every method is one round trip in the common case: statements that must
// run together are pipelined in one pgx.Batch, which PostgreSQL runs as one
// implicit transaction. Where a later statement must see what an earlier
// one waited for (a lock), it is a separate statement in the pipeline and
// so takes a fresh snapshot: PutMember counts members after locking the
// channel row; Delete removes reactions after locking the message row.
//
// # Goroutines and locks
//
// The package starts no goroutine; the pool (pgxpool) runs its own health
// checks and is closed by Close. A Store holds no lock of its own: all
// coordination, between goroutines and between processes, is row locks in
// the database, taken in the order channel row, then member or message
// rows.
//
// # Owns / must not do
//
// Owns: the PostgreSQL schema and its migrations, the SQL of chat.Store,
// the retry of a lost Append race. Must not: decide who may do what, check
// ids, limits or content types (core/chat validates before it calls), read
// message bodies (they may be ciphertext), or import anything of ours but
// core/chat.
package postgres
