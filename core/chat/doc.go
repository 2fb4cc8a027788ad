// Package chat is the chat service of core: channels (groups, DMs,
// broadcast rooms), membership and roles, durable idempotent messages with
// per-channel gap-free sequences, history, typing, read and delivered
// cursors. It is reached from edges over NATS and from HTTP clients over
// REST, and keeps its state through the Store interface declared here and
// implemented in storage/postgres and storage/sqlite.
//
// Members publish and read; anyone not banned also reads a public
// broadcast channel, and publishes in it when it is open (a live room's
// viewers, too many to be members). See access.go.
//
// Goroutines: see Service. REST handlers (rest*.go, documented in
// openapi.yaml) run on the HTTP server's goroutines, or on bus.ServeHTTP's
// for requests forwarded by edges; they share the Store and Service.Send.
//
// It must not import edge or any storage implementation.
package chat
