// Package salam is the Go SDK of Salam, a real-time chat backend: a client
// that keeps one WebSocket (protocol wire v1, msgpack) to a Salam edge and
// hides its failures.
//
//	c, err := salam.Dial(ctx, salam.Config{
//		URL:       "wss://chat.example.com/v1/ws",
//		Token:     func(ctx context.Context) (string, error) { return myBackend.Token(ctx) },
//		OnMessage: func(m salam.Message) { fmt.Printf("%s: %s\n", m.From, m.Data) },
//	})
//	defer c.Close()
//	err = c.Subscribe(ctx, "chat:general")
//	ack, err := c.SendText(ctx, "chat:general", "salam")
//
// What it guarantees:
//   - Reconnects: a lost connection is redialled with exponential backoff and
//     full jitter (Config.Backoff); a drain's reconnect frame is honoured; the
//     token is asked again from the TokenProvider when it expires, on a 401
//     and on close 4001. Close codes that say retrying cannot help (1008) and
//     upgrade refusals 400/403/404/426 stop the client (State Closed).
//   - Resume: every subscription is restored on the next connection from the
//     last sequence delivered. OnMessage sees each message of a channel
//     exactly once and in sequence order, with no gap: a replay the server
//     cut short (the ack's "mo") or any other gap is filled from history
//     before later messages are delivered; duplicates are dropped by
//     sequence. Position tells where a channel stands, so an app can persist
//     it and resume after a restart with SubscribeOptions.After.
//   - Idempotent requests: Publish gives every message a client message id
//     (NewMessageID) and retries with the same id after a timeout, a
//     reconnect or a temporary refusal, so a message is stored once. Every
//     call takes a context that bounds it, retries included.
//   - Typed errors: a refusal is an *Error with the wire code; match it with
//     errors.Is(err, salam.ErrNotMember) or take the code with errors.As.
//
// Concurrency: methods are safe for concurrent use. The client owns a
// supervisor goroutine (dial, serve, back off), one reader per connection,
// and one dispatcher that calls the handlers in arrival order through an
// unbounded queue, so a handler may call Publish or History and wait for the
// reply. Close stops them all and returns after the last handler returned
// (tests check with goleak); do not call Close from a handler.
//
// Why the SDK carries its own copy of the codec: the server's module
// (github.com/salamhq/salam) requires netpoll, pgx, NATS, SQLite and more.
// Importing its wire package would put all of that in an app's module graph
// (and go.sum) for the sake of ~3,000 lines that use only the standard
// library. So sdk/go/wire is a byte-identical copy of the server's wire
// package, checked by a test and refreshed with `go generate` (see
// sdk/go/wire/doc.go). The SDK's go.mod needs only github.com/coder/websocket
// (itself dependency-free) and, for tests, go.uber.org/goleak.
//
// Calls: CallCreate and the other call actions, CallOffer, CallAnswer,
// CallCandidate and CallEndOfCandidates relay WebRTC signaling; OnCall and
// OnSignal receive it. The SDK numbers each call's signals, and after a
// reconnect re-joins every call it is in (CallResumed).
//
// Rooms: a call that escalated runs on the SFU. CallOffer with an empty
// participant offers to the SFU; its answer and its renegotiation offers
// reach OnSignal with From empty, in negotiation order (sfuorder.go). The
// Room* methods (RoomUnsubscribe, RoomMute, RoomKick…) are the room
// requests, and OnRoom receives the room events (rooms.go, README.md).
package salam
