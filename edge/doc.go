// Package edge is the connection server: it accepts TCP connections on a
// netpoll event loop, serves plain HTTP (health, metrics) and upgrades
// GET /v1/ws to WebSocket after checking the token, speaks wire protocol v1
// with each client, enforces every per-connection limit, and routes client
// requests to core and channel events back to local subscribers over NATS.
//
// It must not import core or storage: edges are stateless and meet core
// only on bus subjects (internal/bus), so they scale and restart apart.
//
// # Goroutines
//
//   - netpoll's pollers (one per 20 cores) accept and read sockets; they run
//     onPrepare and the close callbacks, which only touch small maps.
//   - onRequest runs on readPool (ants) when bytes arrive, never twice at
//     once for one connection; it parses and handles everything buffered and
//     returns. An idle connection has no goroutine and no parse buffer.
//   - conn.flush runs on writePool only while a socket is full; it may wait
//     up to WriteTimeout, then the connection is a slow consumer.
//   - hub.dispatch: 8 goroutines, each owning the channels hashed to it,
//     fan events out in order; large fan-outs are split into chunks on
//     readPool and joined before the next event of the channel.
//   - sweep: one goroutine, ticking every second (or half the ping
//     interval), enforces timeouts, sends pings and expires requests.
//   - nats.go's own goroutines deliver request replies (requests.onReply)
//     and the console's inspect questions (inspect.go).
//   - An event stream (plain HTTP asking for text/event-stream: the
//     console's live overview) runs its handler on a goroutine of its own
//     until the handler returns or the connection closes (stream.go).
//
// # Tracing
//
// A publish is traced when its token has the admin role (the console's
// sends) or Tracer.Sample says so: one random draw, no allocation, no lock
// for the others. Traced requests carry bus.Request.Trace; traced events
// arrive with a NATS header, and an event without one costs one nil check.
//
// # Locks
//
//   - conn.mu guards the write side of a connection (queue, writing,
//     closed). Never call netpoll's Close while holding it: netpoll may run
//     the close callback, which takes conn.mu, on the calling goroutine.
//   - hub.mu guards the channel index; it is taken after conn.mu is
//     released, never while holding it.
//   - registry shard locks, requests.mu, users.mu, userState.mu and
//     accessCache.mu are leaves (users.mu is held around nats.go's
//     subscribe and unsubscribe of a user's subject, which take only
//     nats.go's own locks).
//   - conn.calls (the calls a connection took part in) is guarded by conn.mu.
//   - conn.subs (a connection's subscriptions, with the held events of one
//     being set up and the resume watermark) is guarded by conn.mu: the read
//     path adds and removes entries, the dispatch shards read them.
//
// # Writes
//
// Every frame to a client goes through conn.write: one non-blocking write(2)
// on the socket in the common case, so a fan-out to 10,000 connections is
// 10,000 system calls and no goroutine hand-offs; a full socket moves the
// connection to its bounded queue and writePool (see conn.write).
package edge
