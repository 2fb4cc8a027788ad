package edge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

func fullRead(r *bufio.Reader, p []byte) (int, error) { return io.ReadFull(r, p) }

func TestSlowlorisHandshakeClosed(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", f.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /v1/ws HTTP/1.1\r\nHost: x\r\n")) // and never finish
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %v, want EOF after handshake timeout", err)
	}
}

func TestHeaderTooLarge(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxHeaderBytes = 1024 })
	conn, err := net.Dial("tcp", f.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /v1/ws HTTP/1.1\r\nX: "))
	conn.Write(make([]byte, 2048))
	resp, err := readStatus(conn)
	if err != nil || resp != "HTTP/1.1 431 Request Header Fields Too Large" {
		t.Fatalf("got %q %v", resp, err)
	}
}

func readStatus(conn net.Conn) (string, error) {
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if len(line) >= 2 {
		line = line[:len(line)-2]
	}
	return line, err
}

func TestConnectTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ConnectTimeout = 200 * time.Millisecond })
	c := f.dial("alice", wsclient.Options{})
	expectClose(t, c, wire.CloseConnectTimeout)
}

func TestHeartbeatClosesSilentConnection(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.PingInterval, c.HeartbeatTimeout = 200*time.Millisecond, time.Second
	})
	// A client that answers pings stays; one that is silent (half-open, or
	// frozen) is closed and its resources released.
	alive := f.client("alive", wsclient.Options{})
	conn, br := f.rawUpgrade("silent")
	conn.Write(maskedFrame(0x82, wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeConnect, ID: 1})))
	go func() { // the live client reads (and so answers pings) in the background
		var fr wire.Frame
		for alive.Read(&fr) == nil {
		}
	}()
	if got := readClose(t, conn, br); got != wire.CloseHeartbeatTimeout {
		t.Logf("alive closed: %v", alive.Read(&wire.Frame{}))
		t.Fatalf("close %d, want %d", got, wire.CloseHeartbeatTimeout)
	}
	waitFor(t, 5*time.Second, func() error {
		if n := f.srv.Connections(); n != 1 {
			return errorf("connections = %d, want 1 (the live one)", n)
		}
		return nil
	})
}

func TestPingFloodClosed(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.FrameRate, c.FrameBurst, c.AbuseLimit = 10, 10, 5 })
	conn, br := f.rawUpgrade("flooder")
	var flood []byte
	for i := 0; i < 100; i++ {
		flood = append(flood, maskedFrame(0x89, []byte("p"))...)
	}
	conn.Write(flood)
	if got := readClose(t, conn, br); got != wire.CloseRateLimit {
		t.Fatalf("close %d, want %d", got, wire.CloseRateLimit)
	}
}

// A subscriber that never reads is closed as a slow consumer; the others on
// the same channel keep receiving everything.
func TestSlowConsumerClosed(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.OutboundQueue, c.WriteTimeout = 1<<20, time.Second
		c.PublishRate, c.PublishBurst, c.UserPublishRate, c.UserPublishBurst = 1e6, 1e6, 1e6, 1e6
		c.FrameRate, c.FrameBurst = 1e6, 1e6
	})
	slow, _ := f.rawUpgrade("slow")
	slow.(*net.TCPConn).SetReadBuffer(4096)
	slow.Write(maskedFrame(0x82, wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeConnect, ID: 1})))
	slow.Write(maskedFrame(0x82, wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeSubscribe, ID: 2, Channel: "firehose"})))
	fast := f.client("fast", wsclient.Options{})
	if err := fast.Subscribe(ctx(t), "firehose"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if n := len(f.srv.hub.members("firehose")); n != 2 {
			return errorf("members = %d", n)
		}
		return nil
	})
	pub := f.client("pub", wsclient.Options{})
	const msgs = 1000
	payload := make([]byte, 16<<10)
	go func() { // paced by acks, so only a reader that stops falls behind
		for i := 0; i < msgs; i++ {
			pub.Call(ctx(t), &wire.Frame{Type: wire.TypePublish, Channel: "firehose", Data: payload}, nil)
		}
	}()
	fast.NetConn().SetReadDeadline(time.Now().Add(20 * time.Second))
	for got := 0; got < msgs; got++ {
		var ev wire.Frame
		if err := fast.Read(&ev); err != nil {
			t.Fatalf("fast reader after %d: %v", got, err)
		}
	}
	waitFor(t, 10*time.Second, func() error {
		if n := f.srv.Connections(); n != 2 {
			return errorf("connections = %d, want 2 (slow one closed)", n)
		}
		return nil
	})
}

func TestDrainSendsReconnectThenCloses(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.DrainTimeout, c.ReconnectAfter = 300*time.Millisecond, 50*time.Millisecond })
	c := f.client("alice", wsclient.Options{})
	done := make(chan struct{})
	go func() { f.srv.Drain(ctx(t)); close(done) }()
	var fr wire.Frame
	if err := c.Read(&fr); err != nil || fr.Type != wire.TypeReconnect || fr.After > 50 {
		t.Fatalf("got %+v, %v", fr, err)
	}
	expectClose(t, c, wire.CloseShutdown)
	<-done
	if _, err := net.DialTimeout("tcp", f.srv.Addr().String(), time.Second); err == nil {
		t.Fatal("listener still accepting after drain")
	}
}

func TestTokenExpiryCloses(t *testing.T) {
	f := newFixture(t, nil)
	tok, err := auth.MintHS256(testSecret, "alice", time.Second, "", "")
	if err != nil {
		t.Fatal(err)
	}
	c := f.client("alice", wsclient.Options{Token: tok})
	expectClose(t, c, wire.CloseTokenExpired)
}

func TestUpgradeRatePerAddress(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.IPUpgradeRate, c.IPUpgradeBurst = 0.001, 2 })
	f.dial("a", wsclient.Options{})
	f.dial("b", wsclient.Options{})
	_, err := wsclient.Dial(ctx(t), f.url, wsclient.Options{Token: token(t, "c")})
	var he *wsclient.HandshakeError
	if !errors.As(err, &he) || he.Status != 429 {
		t.Fatalf("third upgrade from one address: %v, want 429", err)
	}
}

// The node admits upgrades at upgrade_rate whoever asks (a reconnect
// storm from many addresses); the rest get 503 with Retry-After.
func TestUpgradeAdmission(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.UpgradeRate, c.UpgradeBurst = 0.001, 3 })
	for _, u := range []string{"a", "b", "c"} {
		f.dial(u, wsclient.Options{})
	}
	_, err := wsclient.Dial(ctx(t), f.url, wsclient.Options{Token: token(t, "d")})
	var he *wsclient.HandshakeError
	if !errors.As(err, &he) || he.Status != 503 || he.Header.Get("Retry-After") != "1" ||
		he.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("fourth upgrade: %v, want 503 with Retry-After", err)
	}
}

// brokenLimiter is a shared limiter whose backend is down.
type brokenLimiter struct{}

func (brokenLimiter) Allow(context.Context, string, float64, int, time.Time) (bool, error) {
	return false, errors.New("redis: connection refused")
}

// When the shared limiter fails, the edge's own limits still apply: the
// limit narrows to one edge, it is never lifted.
func TestSharedLimiterDownFallsBackToLocal(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.UserPublishRate, c.UserPublishBurst = 0.001, 2 },
		func(o *Options) { o.Limiter = brokenLimiter{} })
	c := f.client("alice", wsclient.Options{})
	var limited int
	for i := 0; i < 4; i++ {
		_, err := c.Call(ctx(t), &wire.Frame{Type: wire.TypePublish, Channel: "r", MsgID: fmt.Sprint(i)}, nil)
		if we, ok := err.(*wire.Error); ok && we.Code == wire.CodeRateLimited {
			limited++
		}
	}
	if limited != 2 {
		t.Fatalf("%d of 4 publishes limited, want 2 (burst 2)", limited)
	}
}
