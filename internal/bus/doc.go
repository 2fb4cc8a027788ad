// Package bus is the NATS plumbing shared by edge and core: the subject
// scheme, the internal messages carried on it and their msgpack codecs,
// client connections, and the in-process NATS server `salam up` runs.
//
// # Subjects
//
// Every subject starts with Prefix ("salam"). A channel name is one subject
// token: wire.ValidChannel excludes dots and wildcards, and callers validate
// a channel before building a subject from it.
//
//	subject            publisher            subscriber                     payload               queue group
//	-----------------  -------------------  -----------------------------  --------------------  -----------
//	salam.pub.<chan>   edge (request)       core, on salam.pub.*           Request (publish)     salam.core
//	salam.req.<chan>   edge (request)       core/chat, on salam.req.*      Request (subscribe,   salam.core
//	                                                                       history, receipt)
//	  (reply inbox)    core (reply)         the requesting edge            wire frame            -
//	salam.ev.<chan>    core after commit;   each edge with local           wire frame (event,    none: every
//	                   edges for typing     subscribers of <chan>          typing, receipt,      edge gets it
//	                                                                       presence)
//	salam.rest         edge (request)       core (ServeHTTP)               HTTP/1.1 request;     salam.core
//	                                                                       reply: HTTP response
//	salam.presence     edge, per interval   core/presence                  PresenceReport        salam.core
//	salam.presence.    edge (request)       core/presence                  Request (presence     salam.core
//	  query                                                                query); reply: frame
//	salam.calls        edge (request)       core/calls: creates a call     Request (call create) salam.core
//	salam.call.<node>  edge (request);      core/calls of process <node>,  Request (call action, none: one
//	                   edge on close        which holds the call           signaling; CallGone)  node
//	salam.user.<tok>   core/calls           each edge holding a            Delivery (call event, none
//	                   (request for rings   connection of the user         relayed signal, probe)
//	                   and probes)
//	salam.push.call    core/calls           a push service                 Request (ringing)     -
//	salam.sfu.signal   core/calls (no node  any SFU node                   Request (signal,      sfu
//	                   known yet)                                          room)
//	salam.sfu.node.    core/calls; the      SFU node <id>, which holds     Request (signal,      none: one
//	  <id>             other SFU nodes of   the call's room (or a part of  room, leave, end;     node
//	                   a spread room        it: sfu/relay.go)              relay signaling)
//	salam.sfu.nodes    each SFU node, per   every core/calls (placement)    SFUAnnounce           none
//	                   heartbeat
//	salam.console.*    see internal/observe: watch (console → every process), stats and spans
//	                   (processes → console), inspect.channel/user (console → edges),
//	                   inspect.rooms (console → SFU nodes), inspect.streams (console → ingest), audit
//
// Replies and events are wire frames encoded with wire.Msgpack, so an edge
// forwards them to msgpack clients without decoding (it only adds the
// WebSocket header), and every protocol field travels the bus unchanged.
//
//	salam.live.key     ingest (request)     core/live                      LiveKeyCheck (JSON)   salam.core
//	salam.live.event   ingest               every core/live                LiveEvent (JSON)      none
//	salam.live.subs    edge, per beat       every core/live                LiveSubs (JSON)       none
//
// Later subjects (rooms) take new second tokens under the same prefix; a
// second token, once used, never changes meaning. Call subjects are in
// calls.go, with why a call's frames go to one process; live subjects are
// in live.go.
//
// # Messages
//
// Bus messages (Request) are msgpack maps with short keys, the same keys as the
// matching fields of wire.Frame; zero fields are omitted. Decoders skip
// unknown keys of any type, read nil as zero and accept every integer width,
// so a field can be added in a rolling upgrade: old readers ignore it, new
// readers see zero when an old writer leaves it out. A key's meaning never
// changes; a retired key is never reused. Lengths are checked against the
// input and against limits (1 KiB for names and ids, 64 MiB for data) before
// anything is allocated.
//
// AppendMsgpack allocates only when dst lacks capacity. DecodeMsgpack
// overwrites its receiver and copies Data into the receiver's existing
// capacity, so a receiver reused for every message stops allocating for Data
// and never aliases the input.
//
// # Ordering
//
// NATS keeps the order of messages from one connection to one subscription.
// Core publishes a channel's events in sequence order from one connection,
// and publishes an event before replying to its publish, so an edge sees the
// event on the bus no later than the ack. An edge reading events and replies
// on different subscriptions must not assume the order in which its own
// callbacks run.
//
// # Owns / must not do
//
// Owns: subject names, bus message codecs (messages.go, msgpack.go), NATS
// connection options (conn.go) and the embedded server (embedded.go).
// Must not: hold product logic (who may publish, sequencing), import edge or
// core, or reflect on the hot path: codecs are hand-written and append-style.
package bus
