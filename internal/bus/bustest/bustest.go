// Package bustest starts the real embedded NATS server for other packages'
// tests and benchmarks.
package bustest

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
)

// Start runs an in-process NATS server and connects to it; both are closed
// when tb ends. More connections: bus.Connect(bus.Config{}, srv, nil).
func Start(tb testing.TB) (*server.Server, *nats.Conn) {
	tb.Helper()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Shutdown)
	nc, err := bus.Connect(bus.Config{}, srv, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return srv, nc
}
