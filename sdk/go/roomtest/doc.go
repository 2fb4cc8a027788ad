// Package roomtest holds the Go SDK's end-to-end tests of rooms on the SFU:
// SDK clients with real pion peer connections join an escalated call on
// the SFU of a salam up subprocess and exercise the room requests and
// events.
//
// It is a module of its own so that pion, which only these tests need,
// stays out of the SDK's go.mod (and so out of every app's module graph).
// Run it with `make sdk-go` or `cd sdk/go/roomtest && go test -race ./...`.
// It has no API: importing it is a mistake.
package roomtest
