// Package sfu is Salam's selective forwarding unit: rooms of participants
// of an escalated call (room id = call id), one pion PeerConnection per
// participant (unified plan), RTP forwarded from each publisher to every
// subscriber without decoding, simulcast layer choice per subscriber
// (starts and switches on keyframes read from VP8, VP9, AV1, H.264 and
// H.265 payload headers: keyframe.go), NACK answers, active speaker
// detection and room moderation (PROTOCOL.md §4, 22). README.md has the
// bandwidth math, the measured capacity of a node and how a room cascades
// over nodes.
//
// # Cascading
//
// A room may span nodes (core's calls.sfu_room_spread): core names the
// room's home node in the frames it sends the others (bus.Request.Home),
// which link to home; home links to each of them (relay.go). A link is two
// peer connections, one per direction, each offered by its sender over
// NATS request/reply on the far node's bus.SFUNodeSubject. Every track
// crosses each link once, each simulcast layer as its own track; on the
// far node it is an up-track of a stand-in participant (participant.via),
// so subscribers there are served as from a local publisher. Events,
// leaves, audio levels and the layers each node uses (the others are
// paused at the sending node) are passed along the links.
//
// # Signaling
//
// Clients never reach the SFU directly: core/calls checks every SFU-bound
// frame of a participant (sequence, session, limits) and forwards it, as a
// bus.Request with the edge's reply subject, on the subject of the node the
// room is placed on (bus.SFUNodeSubject) or, before placement, on
// bus.SFUSignalSubject (queue group "sfu"). The node answers the client on
// that reply subject (an answer, an ack or an error) and sends its own
// frames (renegotiation offers, room events) to the participant's session
// as bus.Deliveries on bus.UserSubject. The client offers first; from then
// on the SFU offers whenever the tracks a participant receives change
// (OfferRenegotiate), one exchange at a time; it is the impolite side: a
// client offer that crosses its own is refused with glare. The SFU does not
// trickle: its SDP carries its candidates.
//
// # Goroutines and locks
//
//   - nats.go's goroutine runs Node.onMsg, which decodes a frame and queues
//     it to its room. Node.mu guards the room map.
//   - Each room has one goroutine (room.run) that owns the room, its
//     participants and their peer connections: signaling, pion callbacks
//     (OnTrack, connection state) and the speaker ticker all run there as
//     queued operations; no lock.
//   - Each layer of a published track has one goroutine (upTrack.forward)
//     reading its packets and writing them to the track's down-tracks. The
//     list of down-tracks is copy-on-write (an atomic pointer, changed
//     under upTrack.mu by the room's goroutine); a down-track's rewrite
//     state is guarded by downTrack.mu, taken by the layers' loops (only
//     one layer is sent at a time, so it is uncontended) and by retarget.
//   - Each down-track has one goroutine reading its subscriber's RTCP
//     (readRTCP), until the sender stops: it answers NACKs from the
//     layers' packet caches (packetCache.mu, an RWMutex the layer's loop
//     takes to write one packet) and owns the down-track's retransmitter.
//   - Metrics: the forwarding loops add their counts and set their
//     per-track gauges once a second, never per packet.
//   - Links (relay.go) are owned by their room's goroutine like its
//     participants; a link's outgoing offer is sent by one goroutine per
//     offer (counted in Node.wg), which waits for the far node's answer
//     and queues it to the room, so that two rooms offering to each other
//     never wait on each other. A relay's down-tracks and its stand-ins'
//     up-tracks have the goroutines of any down- and up-track.
//   - One heartbeat goroutine announces the node (bus.SFUAnnounceSubject).
//   - With udp_port's batched writes (batchconn.go) every writer (the
//     forwarding loops, RTCP, ICE) copies its datagram into the filling
//     batch under batchConn.mu; the writer that fills it, or the batch's
//     timer (a goroutine of time.AfterFunc), sends it under batchConn.sendMu
//     while the other batch fills.
//   - The console's rooms request (observe.InspectRoomsSubject, inspect.go)
//     runs on nats.go's goroutine: it queues one operation per room, which
//     describes the room on the room's goroutine (layer statistics are
//     atomics; a down-track's current layer is read under downTrack.mu),
//     and waits for them at most inspectWait.
//
// Node.Stop closes every room and waits for the rooms' goroutines; the
// forwarding and RTCP goroutines end when their peer connections close.
//
// It must not import edge, core or a storage implementation.
package sfu
