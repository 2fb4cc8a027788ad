// Package calls is the calls service of core: call sessions in group and
// DM channels (create, ring, accept, decline, cancel, join, leave, end, ring
// timeout), the call history with its REST route, the ICE servers handed to
// clients, and the relay of WebRTC signaling between participants under a
// per-participant state machine (wire/PROTOCOL.md §4, 17–21).
//
// # Where a call lives
//
// A call's live state (who rings, who is in, each participant's session and
// signal sequence, each pair's negotiation) is held in memory by the core
// process that created it, its node: call ids are "<node>-<id>", and edges
// send every frame about a call to bus.CallNodeSubject(node). Only the
// history is stored (Store, declared here, implemented in storage/sqlite and
// storage/postgres, contract suite storage/callstest). When a node stops,
// its calls end with reason lost (Stop, or Start after a crash when
// Config.NodeID is stable): they cannot be resumed elsewhere.
//
// # Reaching users
//
// Events and relayed signaling go to bus.UserSubject(user) as
// bus.Deliveries, which the edges holding the user's connections write
// out (only to the participant's session for call traffic). Rings are sent
// as NATS requests: "no responders" means the member has no live
// connection, and the ring goes to bus.PushCallSubject for a push service.
// Probes (requests of kind bus.DeliverProbe every Config.ProbeInterval)
// find participants whose edge died; an edge that closes a connection
// tells the node at once (bus.CallGone). Either starts the participant's
// reconnect grace.
//
// # Goroutines
//
// Creates run on bus.Serve's goroutines (membership and store work), then
// hand the call to its shard. nats.go runs onNode, which decodes a frame and
// queues it to the shard owning the call (8 shards, by call id). A shard is
// one goroutine that owns its calls outright: no locks; timers (ring
// timeout, grace) and probe results re-enter through its queue. Ring and
// probe requests run on short-lived goroutines (Service.inflight). One
// writer goroutine persists history in order, so a slow store never delays
// signaling. Stop ends the calls, then waits for all of them.
//
// # The SFU
//
// Past Config.SFUThreshold participants a call escalates: participants are
// told to renegotiate with the SFU. The call's room is placed on the live
// SFU node (heartbeats on bus.SFUAnnounceSubject, kept Config.SFULiveness)
// with the fewest participants, at its first SFU-bound frame, and placed
// again if that node stops announcing. Signaling without "to" and room
// requests (wire type 22, stamped with the call's owner as From: the
// moderator) are forwarded to that node's bus.SFUNodeSubject with the
// client's reply subject, so the SFU answers the client itself; with no
// SFU node known they go to bus.SFUSignalSubject (any node in queue group
// "sfu", or "no responders": unavailable). Leaves and the end of an
// escalated call are told to the room (call frames CallLeft, CallEnded,
// no reply). See package sfu.
//
// With Config.SFURoomSpread a room spreads over nodes (spread.go): the
// call keeps its home node and the node of each participant; frames of a
// participant go to its node, those to a node other than home carry the
// home node (bus.Request.Home), room requests about another participant go
// to that participant's node, the mode to every node, the end to every
// node. When home dies, the room's live node with most participants
// becomes home and the room's nodes are told. All of it is owned by the
// call's shard goroutine, like the rest of the call.
//
// It must not import edge or a storage implementation.
package calls
