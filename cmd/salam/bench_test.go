package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat/chatbench"
	"github.com/salamhq/salam/internal/bus"
)

// BenchmarkSendTwoCoreProcesses is issue 3's production shape: two
// `salam core` processes on one Postgres behind one NATS server, driven with
// acknowledged sends over NATS (256 in flight, 16 channels). Needs
// SALAM_TEST_POSTGRES (eval "$(.ci/services)").
func BenchmarkSendTwoCoreProcesses(b *testing.B) {
	url := os.Getenv("SALAM_TEST_POSTGRES")
	if url == "" {
		b.Skip("SALAM_TEST_POSTGRES not set")
	}
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Shutdown()
	data := b.TempDir()
	var cores []*proc
	for i := 0; i < 2; i++ {
		cores = append(cores, start(b, "core", "--nats", ns.ClientURL(), "--postgres", url, "--listen", "127.0.0.1:0", "--data", data))
	}
	user := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	tok := devToken(b, data, user)
	var channels []string
	for i := 0; i < 16; i++ {
		id := fmt.Sprintf("%s-%d", user, i)
		if code := rest(b, cores[i%2].addr, tok, "POST", "/v1/channels", map[string]any{"id": id, "name": "bench", "kind": "group"}, nil); code != 201 {
			b.Fatalf("create channel: %d", code)
		}
		channels = append(channels, id)
	}
	nc, err := bus.Connect(bus.Config{}, ns, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	chatbench.Drive(b, nc, user, channels)
}
