package edge

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

func TestConnectedAnnouncesSessionAndLimits(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxMessageBytes = 4096 })
	c := f.dial("alice", wsclient.Options{})
	got, err := c.Connect(ctx(t), "test/1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Session == "" || got.User != "alice" || got.Time == 0 || got.Limits.MaxFrame != 4096 || got.Limits.PingInterval == 0 {
		t.Fatalf("connected = %+v", got)
	}
}

func TestFrameBeforeConnect(t *testing.T) {
	f := newFixture(t, nil)
	c := f.dial("alice", wsclient.Options{})
	c.Send(&wire.Frame{Type: wire.TypeSubscribe, ID: 1, Channel: "room"})
	var fr wire.Frame
	if err := c.Read(&fr); err != nil || fr.Type != wire.TypeError || fr.Code != wire.CodeNotConnected || fr.ID != 1 {
		t.Fatalf("got %+v, %v", fr, err)
	}
	expectClose(t, c, wire.CloseNotConnected)
}

func TestPublishSubscribeBothCodecs(t *testing.T) {
	f := newFixture(t, nil)
	mp := f.client("bob", wsclient.Options{})
	js := f.client("carol", wsclient.Options{Subprotocol: wire.SubprotocolJSON})
	for _, c := range []*wsclient.Conn{mp, js} {
		if err := c.Subscribe(ctx(t), "room-1"); err != nil {
			t.Fatal(err)
		}
	}
	pub := f.client("alice", wsclient.Options{})
	ack, err := pub.Call(ctx(t), &wire.Frame{Type: wire.TypePublish, Channel: "room-1", Data: []byte("salam 👋"), MsgID: "m-1"}, nil)
	if err != nil || ack.Seq != 1 {
		t.Fatalf("ack %+v, %v", ack, err)
	}
	for _, c := range []*wsclient.Conn{mp, js} {
		var ev wire.Frame
		if err := c.Read(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != wire.TypeEvent || ev.Channel != "room-1" || ev.Seq != 1 || ev.From != "alice" ||
			ev.MsgID != "m-1" || !bytes.Equal(ev.Data, []byte("salam 👋")) {
			t.Fatalf("%s got %+v", c.Subprotocol(), ev)
		}
	}
}

func TestSessionErrors(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxSubscriptions = 2 })
	c := f.client("alice", wsclient.Options{})
	call := func(fr wire.Frame) wire.Code {
		t.Helper()
		_, err := c.Call(ctx(t), &fr, nil)
		if err == nil {
			return 0
		}
		we, ok := err.(*wire.Error)
		if !ok {
			t.Fatalf("%v: %v", fr.Type, err)
		}
		return we.Code
	}
	checks := []struct {
		frame wire.Frame
		want  wire.Code
	}{
		{wire.Frame{Type: wire.TypeConnect}, wire.CodeAlreadyConnected},
		{wire.Frame{Type: wire.TypeSubscribe, Channel: "a.b"}, wire.CodeBadChannel},
		{wire.Frame{Type: wire.TypeSubscribe, Channel: ""}, wire.CodeBadChannel},
		{wire.Frame{Type: wire.TypeSubscribe, Channel: "x"}, 0},
		{wire.Frame{Type: wire.TypeSubscribe, Channel: "x"}, wire.CodeAlreadySubscribed},
		{wire.Frame{Type: wire.TypeSubscribe, Channel: "y"}, 0},
		{wire.Frame{Type: wire.TypeSubscribe, Channel: "z"}, wire.CodeTooManySubscriptions},
		{wire.Frame{Type: wire.TypeUnsubscribe, Channel: "z"}, wire.CodeNotSubscribed},
		{wire.Frame{Type: wire.TypeUnsubscribe, Channel: "y"}, 0},
		{wire.Frame{Type: wire.TypePublish, Channel: "a*"}, wire.CodeBadChannel},
		{wire.Frame{Type: wire.TypeEvent}, wire.CodeBadFrame},
		{wire.Frame{Type: 99}, wire.CodeUnknownType},
	}
	for _, ch := range checks {
		if got := call(ch.frame); got != ch.want {
			t.Errorf("%v %q: code %v, want %v", ch.frame.Type, ch.frame.Channel, got, ch.want)
		}
	}
	// Still usable after every error: an application ping gets its pong.
	c.Send(&wire.Frame{Type: wire.TypePing, ID: 77})
	var pong wire.Frame
	if err := c.Read(&pong); err != nil || pong.Type != wire.TypePong || pong.ID != 77 || pong.Time == 0 {
		t.Fatalf("pong = %+v, %v", pong, err)
	}
}

func TestPublishRateLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PublishRate, c.PublishBurst, c.AbuseLimit = 1, 3, 5 })
	c := f.client("alice", wsclient.Options{})
	codes := map[wire.Code]int{}
	for i := 0; i < 5; i++ {
		_, err := c.Call(ctx(t), &wire.Frame{Type: wire.TypePublish, Channel: "r", Data: []byte("x")}, nil)
		if we, ok := err.(*wire.Error); ok {
			codes[we.Code]++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if codes[wire.CodeRateLimited] != 2 {
		t.Fatalf("rate limited %d times, want 2 (burst 3 of 5)", codes[wire.CodeRateLimited])
	}
	// Abuse: keep going past AbuseLimit violations → close 4003.
	for i := 0; i < 10; i++ {
		c.Send(&wire.Frame{Type: wire.TypePublish, ID: uint32(100 + i), Channel: "r"})
	}
	expectClose(t, c, wire.CloseRateLimit)
}

func TestUnknownTypeKeepsConnection(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client("alice", wsclient.Options{})
	_, err := c.Call(ctx(t), &wire.Frame{Type: 42}, nil)
	if we, ok := err.(*wire.Error); !ok || we.Code != wire.CodeUnknownType {
		t.Fatalf("got %v", err)
	}
	if err := c.Subscribe(ctx(t), "still-alive"); err != nil {
		t.Fatal(err)
	}
}

func TestFanoutManySubscribersInOrder(t *testing.T) {
	f := newFixture(t, nil)
	const subs, msgs = 50, 20
	var conns []*wsclient.Conn
	for i := 0; i < subs; i++ {
		c := f.client(fmt.Sprintf("u%d", i), wsclient.Options{})
		if err := c.Subscribe(ctx(t), "big"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	pub := f.client("pub", wsclient.Options{})
	for i := 0; i < msgs; i++ {
		pub.Send(&wire.Frame{Type: wire.TypePublish, ID: uint32(i + 1), Channel: "big", Data: []byte{byte(i)}})
	}
	for _, c := range conns {
		c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
		for want := uint64(1); want <= msgs; want++ {
			var ev wire.Frame
			if err := c.Read(&ev); err != nil {
				t.Fatal(err)
			}
			if ev.Seq != want {
				t.Fatalf("seq %d, want %d", ev.Seq, want)
			}
		}
	}
}
