package bus

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func TestConnectNeitherURLsNorEmbedded(t *testing.T) {
	if _, err := Connect(Config{}, nil, nil); !errors.Is(err, ErrNoServer) {
		t.Fatalf("err = %v, want ErrNoServer", err)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := []Config{
		{},
		{URLs: []string{"nats://127.0.0.1:4222", "tls://n2:4222", "ws://n3:8080"}},
		{Token: "t"}, {User: "u", Password: "p"}, {User: "u"}, {CredsFile: "/etc/salam/nats.creds"},
		{ReconnectWait: time.Second, RequestTimeout: time.Second},
	}
	for _, c := range valid {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	invalid := []struct {
		cfg   Config
		field string
	}{
		{Config{URLs: []string{"127.0.0.1:4222"}}, "bus.urls[0]"},
		{Config{URLs: []string{"nats://a:1", "http://b:2"}}, "bus.urls[1]"},
		{Config{URLs: []string{"nats://"}}, "bus.urls[0]"},
		{Config{Token: "t", User: "u"}, "exclusive"},
		{Config{Token: "t", CredsFile: "f"}, "exclusive"},
		{Config{Password: "p"}, "bus.password"},
		{Config{ReconnectWait: -1}, "bus.reconnect_wait"},
		{Config{RequestTimeout: -1}, "bus.request_timeout"},
	}
	for _, tt := range invalid {
		err := tt.cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%+v: err %v, want ErrInvalidConfig naming %s", tt.cfg, err, tt.field)
		}
	}
}

func TestConfigEnsureDefaults(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	if c.ReconnectWait != DefaultReconnectWait || c.RequestTimeout != DefaultRequestTimeout {
		t.Fatalf("defaults %+v", c)
	}
	c = Config{ReconnectWait: time.Second, RequestTimeout: time.Minute}
	c.EnsureDefaults()
	if c.ReconnectWait != time.Second || c.RequestTimeout != time.Minute {
		t.Fatalf("EnsureDefaults overwrote set fields: %+v", c)
	}
}

func TestConnectRefusedFailsFast(t *testing.T) {
	url := fmt.Sprintf("nats://%s", listenAddr(freePort(t)))
	if _, err := Connect(Config{URLs: []string{"nats://user:secret@" + url[len("nats://"):]}}, nil, nil); err == nil {
		t.Fatal("connect to a closed port succeeded")
	} else if strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

// Requests on a publish subject reach exactly one member of the core queue
// group, and the reply reaches the requester.
func TestRequestReplyQueueGroup(t *testing.T) {
	srv := startEmbedded(t, EmbeddedConfig{})
	edge := connect(t, Config{Name: "edge"}, srv)

	var handled [2]atomic.Int64
	for i := range handled {
		core := connect(t, Config{Name: fmt.Sprintf("core-%d", i)}, srv)
		_, err := core.QueueSubscribe(PublishWildcard, QueueCore, func(m *nats.Msg) {
			handled[i].Add(1)
			var r Request
			if err := r.DecodeMsgpack(m.Data); err != nil {
				_ = m.Respond([]byte("bad"))
				return
			}
			ch, _ := PublishChannel(m.Subject)
			_ = m.Respond([]byte(fmt.Sprintf("%s/%d", ch, len(r.Frame))))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := core.Flush(); err != nil {
			t.Fatal(err)
		}
	}

	const n = 50
	for i := range n {
		r := Request{User: "alice", Frame: make([]byte, i+1)}
		m, err := edge.Request(PublishSubject("room1"), r.AppendMsgpack(nil), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(m.Data), fmt.Sprintf("room1/%d", i+1); got != want {
			t.Fatalf("reply %d: %q, want %q", i, got, want)
		}
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if got := handled[0].Load() + handled[1].Load(); got != n {
			return fmt.Errorf("handled %d+%d requests, want %d in total", handled[0].Load(), handled[1].Load(), n)
		}
		return nil
	})
}

// A connection survives its server restarting: it reconnects, resubscribes,
// and receives a message published after the restart.
func TestReconnectAfterServerRestart(t *testing.T) {
	listen := listenAddr(freePort(t))
	log, _ := testLogger(t)
	srv, err := StartEmbedded(EmbeddedConfig{Listen: listen}, log)
	if err != nil {
		t.Fatal(err)
	}
	url := srv.ClientURL()
	nc := connect(t, Config{URLs: []string{url}, ReconnectWait: 20 * time.Millisecond}, nil)
	sub, err := nc.SubscribeSync(EventSubject("room1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	srv.Shutdown()
	srv.WaitForShutdown()
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if s := nc.Status(); s == nats.CONNECTED {
			return errors.New("still connected after shutdown")
		}
		return nil
	})

	srv = startEmbedded(t, EmbeddedConfig{Listen: listen})
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if s := nc.Status(); s != nats.CONNECTED {
			return fmt.Errorf("status %v", s)
		}
		return nil
	})
	// Resubscription after reconnect is asynchronous: publish until received.
	pub := connect(t, Config{}, srv)
	checkFor(t, 10*time.Second, 0, func() error {
		if err := pub.Publish(EventSubject("room1"), []byte("after restart")); err != nil {
			return err
		}
		m, err := sub.NextMsg(50 * time.Millisecond)
		if err != nil {
			return err
		}
		if string(m.Data) != "after restart" {
			return fmt.Errorf("got %q", m.Data)
		}
		return nil
	})
	if nc.Stats().Reconnects == 0 {
		t.Error("no reconnect counted")
	}
}

// An external server (here: started directly on a random port, with auth)
// is reached through Config.URLs with the configured credentials.
func TestConnectExternalWithAuth(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts server.Options
		good Config
		bad  Config
	}{
		{"token", server.Options{Authorization: "s3cret"}, Config{Token: "s3cret"}, Config{Token: "wrong"}},
		{"user", server.Options{Username: "edge", Password: "pw"}, Config{User: "edge", Password: "pw"}, Config{User: "edge", Password: "no"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", server.RANDOM_PORT, true, true
			srv, err := server.NewServer(&opts)
			if err != nil {
				t.Fatal(err)
			}
			srv.Start()
			t.Cleanup(func() {
				srv.Shutdown()
				srv.WaitForShutdown()
			})
			if !srv.ReadyForConnections(10 * time.Second) {
				t.Fatal("server not ready")
			}
			good := tt.good
			good.URLs = []string{srv.ClientURL()}
			roundTrip(t, connect(t, good, nil))

			bad := tt.bad
			bad.URLs = good.URLs
			if nc, err := Connect(bad, nil, nil); err == nil {
				nc.Close()
				t.Fatal("connected with wrong credentials")
			}
		})
	}
}
