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
// Streams whose key asks for it are recorded (Config.RecordDir, VOD at
// /vod/<name>/<start>/index.m3u8); with Config.Transcode an ffmpeg process
// per stream adds an ABR ladder at /live/<name>/abr/master.m3u8.
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
//   - watchListing (one per live stream, in Server's WaitGroup) reads the
//     stream's own playlist every 100 ms to measure listing latency; it
//     ends when the publish does.
//   - transcoder.run (one per transcoded stream) owns the pipe to its
//     ffmpeg; the publisher hands it access units through a bounded queue
//     and never blocks on it (a full queue drops).
//   - the recorder has no goroutine: the publisher writes its files.
//   - AnswerInspect (bus.go) answers the console's streams request on
//     nats.go's goroutine, reading the streams map under Server.mu and the
//     streams' figures (atomics, viewers.mu) after releasing it.
//   - Server.mu guards the streams map (name → *stream) and the set of
//     open connections; stream.mu guards a stream's muxer and ladder
//     directory. Lock order: Server.mu, then stream.mu. Neither is held
//     while calling a muxer, the KeyChecker or the Lifecycle.
//
// # Files
//
// server.go (listeners, Close), publish.go (one RTMP connection, the
// remux pipe), stream.go (claiming a stream name), http.go (HLS, VOD and
// ladder serving, cache headers, CORS), listing.go (playlist parsing and
// listing latency), metrics.go, viewers.go, record.go + tswriter.go
// (recording), ladder.go (ffmpeg transcode), bus.go (NATS KeyChecker and
// Lifecycle), aac.go (mediacommon v2 → v1 AAC config for gohlslib).
package ingest
