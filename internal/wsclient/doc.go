// Package wsclient is a small client of Salam's wire protocol v1 over
// WebSocket, for the load generator and for tests of the edge.
//
// It owns: the client side of the HTTP upgrade (token in a header or in the
// query, subprotocol negotiation, binding a chosen source address), WebSocket
// framing as RFC 6455 requires of a client (masked messages, answering pings,
// echoing close frames, reassembling fragments), and the request/reply
// pattern of the protocol (connect → connected, subscribe/publish → ack or
// error). It must not grow product logic (retries, reconnects, resume):
// that belongs to the SDKs. It speaks wire frames only; callers never see
// WebSocket frames, except through [Conn.NetConn] when a test wants to break
// the protocol on purpose.
//
// Memory: a load generator holds tens of thousands of connections per
// process, so a [Conn] keeps only a small read buffer
// ([Options.ReadBufferSize], 512 bytes by default) beside the socket. Larger
// messages are reassembled in a buffer that is dropped again when it grew
// past a few KiB; encode buffers come from a process-wide pool. A goroutine
// parked in [Conn.Read] costs another ~4.5 KiB (its stack, grown to 4 KiB by
// the read path, and its descriptor), so the load generator does not park
// one per connection: a [Poller] (Linux, epoll) reads many Conns from one
// goroutine, and the reading code is a resumable parser that works the same
// whether input comes from a blocking read or from a readiness event.
//
// Concurrency: [Conn.Send], [Conn.SendClose], [Conn.Request] and [Conn.Close]
// are safe for concurrent use; writes are serialised by one mutex, so every
// message goes out whole. Reading is single-owner: at any moment exactly one
// goroutine may be inside [Conn.Read], [Conn.Connect], [Conn.Call] or
// [Conn.Dispatch], and after [Poller.Add] the poller's goroutine owns reading.
// The usual shape is synchronous setup (Connect, then Call or Subscribe)
// followed by one of: a loop of Read; one goroutine running Dispatch while
// others call Request (Dispatch routes each ack or error to the Request
// waiting for its ID and hands every other frame to a callback); or handing
// the Conn to a Poller. Server pings are answered by whoever reads, so a
// connection that nobody reads stops answering pings and is eventually
// closed by the server, exactly as a stalled browser would be.
package wsclient
