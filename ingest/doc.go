// Package ingest takes live streams in over RTMP and serves them to viewers
// over HLS (MPEG-TS, fMP4 or Low-Latency HLS), remuxing H.264 + AAC without
// re-encoding.
//
// A creator publishes to rtmp://HOST:1935/live/<streamKey>. The key is
// checked through a KeyChecker (in `salam up`, a NATS request to core/live,
// which stores only key hashes) before the publish is accepted; a wrong or
// revoked key is refused at the RTMP publish step with
// NetStream.Publish.BadName. The key resolves to a stream name, and viewers
// play http://HOST:8888/live/<name>/index.m3u8. One publisher per stream:
// a second one is refused, or replaces the first (Config.OnSecondPublisher).
//
// What it must not do: talk to storage or import core. Stream keys and live
// rooms are core's; ingest reaches them only through the KeyChecker and
// Lifecycle interfaces (bus implementations in bus.go).
//
// # Goroutines and locks
//
//   - Server.acceptLoop (one, owned by Server, ended by Close) accepts RTMP
//     connections and starts one publisher goroutine per connection.
//   - publisher goroutine (publish.go): handshake, key check, track analysis,
//     then the read loop that writes every access unit into the stream's
//     gohlslib.Muxer. It owns its net.Conn; anything else stops it only by
//     closing that conn (Close, replacement by a second publisher).
//   - the HTTP server (http.go) serves playlists and segments from the
//     muxers; gohlslib locks each muxer internally, and blocking playlist
//     reloads (LL-HLS) wait on the muxer, never on a Server lock.
//   - Server.mu guards the streams map (name → *stream) and the set of
//     open connections; it is never held while calling a muxer, the
//     KeyChecker or the Lifecycle.
package ingest
