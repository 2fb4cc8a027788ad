package bus

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startEmbedded starts a server that the test shuts down at cleanup.
func startEmbedded(t *testing.T, cfg EmbeddedConfig) *server.Server {
	t.Helper()
	log, _ := testLogger(t)
	srv, err := StartEmbedded(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// connect connects to srv the way cfg says, closing at cleanup.
func connect(t *testing.T, cfg Config, srv *server.Server) *nats.Conn {
	t.Helper()
	log, _ := testLogger(t)
	nc, err := Connect(cfg, srv, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// roundTrip checks that a message published on nc comes back to a
// subscription on nc.
func roundTrip(t *testing.T, nc *nats.Conn) {
	t.Helper()
	sub, err := nc.SubscribeSync("salam.test.ping")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Publish("salam.test.ping", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedInProcess(t *testing.T) {
	srv := startEmbedded(t, EmbeddedConfig{})
	if srv.Addr() != nil {
		t.Errorf("in-process server listens on %v", srv.Addr())
	}
	nc := connect(t, Config{Name: "test"}, srv)
	roundTrip(t, nc)
}

func TestEmbeddedTCPRandomPort(t *testing.T) {
	srv := startEmbedded(t, EmbeddedConfig{Listen: "127.0.0.1:0"})
	url := srv.ClientURL()
	if strings.HasSuffix(url, ":0") || strings.HasSuffix(url, ":4222") {
		t.Fatalf("ClientURL %q does not report the bound port", url)
	}
	// Over TCP, and in-process to the same server: both see each other.
	tcp := connect(t, Config{URLs: []string{url}}, nil)
	inproc := connect(t, Config{}, srv)
	roundTrip(t, tcp)
	sub, err := inproc.SubscribeSync("salam.test.x")
	if err != nil {
		t.Fatal(err)
	}
	if err := inproc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := tcp.Publish("salam.test.x", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "hello" {
		t.Fatalf("got %v, %v", m, err)
	}
}

func TestEmbeddedPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	log, _ := testLogger(t)
	start := time.Now()
	srv, err := StartEmbedded(EmbeddedConfig{Listen: l.Addr().String()}, log)
	if err == nil {
		srv.Shutdown()
		t.Fatal("StartEmbedded on a busy port succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failure took %s, want fast", d)
	}
}

func TestEmbeddedConfigValidate(t *testing.T) {
	for _, listen := range []string{"", "127.0.0.1:0", ":4222", "[::1]:4222"} {
		c := EmbeddedConfig{Listen: listen}
		if err := c.Validate(); err != nil {
			t.Errorf("Listen %q: %v", listen, err)
		}
	}
	for _, listen := range []string{"4222", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", "127.0.0.1:-1"} {
		c := EmbeddedConfig{Listen: listen}
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Listen %q: err %v, want ErrInvalidConfig", listen, err)
		}
		if _, err := StartEmbedded(c, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("StartEmbedded(%q): err %v, want ErrInvalidConfig", listen, err)
		}
	}
}
