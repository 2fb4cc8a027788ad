// Package console is the operations console that processes with core serve
// at /console: an embedded page (assets/, plain HTML/JS/CSS, no build step)
// and an admin-only JSON API under /console/api/.
//
//   - Overview: while at least one page streams (/console/api/stream, SSE),
//     the console publishes interest on observe.WatchSubject every second;
//     every node (edge, core, and SFU and ingest nodes that build an
//     observe.Reporter) answers with a snapshot of its own Prometheus
//     registry, the one /metrics serves, on observe.StatsSubject. The
//     console derives rates and windowed latency quantiles per node and
//     across nodes, keeps Config.History of one-second points for the
//     charts, and drops nodes silent for Config.StaleAfter. Nobody
//     watching: no node gathers or sends anything.
//   - Journeys: spans of sampled messages (observe.Tracer, published on
//     observe.SpansSubject by every process) are grouped by trace id in a
//     ring of Config.Journeys traces; the page finds a message's journey by
//     channel and client message id. Spans never carry bodies.
//   - Inspect: a channel's settings, last sequence, members with cursors,
//     recent calls (calls.Store) and local subscribers per edge; a user's
//     presence (presence.Store) and connections and publish rate limit per
//     edge. Edges answer observe.InspectChannelSubject and
//     InspectUserSubject; the console gathers answers for askWindow.
//   - Media (media.go): SFU rooms, asked of every SFU node on
//     observe.InspectRoomsSubject (participants, published tracks with
//     each layer's bitrate and packets, the layer forwarded to each
//     subscriber); live streams from core/live in this process
//     (Options.Live: owner, start, HLS and WebSocket viewers, the HLS
//     playback URL the page previews) joined with the ingest servers'
//     figures (bitrate, fps, keyframe interval) asked on
//     observe.InspectStreamsSubject. Both gather answers for askWindow.
//   - Actions (actions.go): creating a channel with members and sending a
//     traced message; recorded first, then carried out through the /v1
//     REST API with the admin's own token. Everything else is read-only.
//   - Audit: opening the console, every action and every view of user
//     data (channel, user, journey, rooms, streams) append an AuditRecord to the AuditLog declared here
//     (storage/sqlite and storage/postgres: table audit_log, migration
//     0004, append-only by trigger, hash-chained) and publish it on
//     observe.AuditSubject; GET /console/api/audit pages it and verifies
//     the chain.
//
// A new kind of node (SFU, ingest) appears in the overview by running an
// observe.Reporter of its kind on its registry; nothing here changes.
//
// Access: every /console/api/ route answers 401 (no or bad token) or 403
// (no admin role claim, see auth.Claims.Admin) with a problem body before
// anything else, and validates every parameter (400 with a problem body).
//
// Goroutines and locks: nats.go's subscription goroutines feed overview
// (overview.mu) and journeys (journeys.mu); one watch loop runs while any
// stream is open (Console.mu guards the set of streams and the loop's
// running flag); each stream's handler goroutine reads its own channel.
//
// It must not import edge or any storage implementation.
package console
