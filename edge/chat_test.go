package edge

import (
	"fmt"
	"testing"
	"time"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// A client resuming after seq 2 gets 3..5 replayed, then the ack, then live
// events — each sequence exactly once.
func TestSubscribeResumeNoGapNoDuplicate(t *testing.T) {
	f := newFixture(t, nil)
	pub := f.client("alice", wsclient.Options{})
	for i := 1; i <= 5; i++ {
		if _, err := pub.Call(ctx(t), &wire.Frame{Type: wire.TypePublish, Channel: "room", MsgID: fmt.Sprint(i), Data: []byte{byte(i)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	c := f.client("bob", wsclient.Options{})
	c.Send(&wire.Frame{Type: wire.TypeSubscribe, ID: 7, Channel: "room", Seq: 2})
	go func() { // live publishes racing the resume
		for i := 6; i <= 8; i++ {
			pub.Send(&wire.Frame{Type: wire.TypePublish, ID: uint32(100 + i), Channel: "room", MsgID: fmt.Sprint(i)})
		}
	}()
	var seqs []uint64
	acked := false
	c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(seqs) < 6 || !acked {
		var fr wire.Frame
		if err := c.Read(&fr); err != nil {
			t.Fatal(err)
		}
		switch fr.Type {
		case wire.TypeAck:
			acked = true
			if len(seqs) < 3 {
				t.Fatalf("ack after %d replayed events, want the 3 missed first", len(seqs))
			}
		case wire.TypeEvent:
			seqs = append(seqs, fr.Seq)
		}
	}
	for i, s := range seqs {
		if s != uint64(i+3) {
			t.Fatalf("sequences %v, want 3..8 once each", seqs)
		}
	}
}

func TestSubscribeRefusedByCore(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client("alice", wsclient.Options{})
	err := c.Subscribe(ctx(t), "forbidden")
	if we, ok := err.(*wire.Error); !ok || we.Code != wire.CodeNotMember {
		t.Fatalf("got %v, want not_member", err)
	}
	if n := len(f.srv.hub.members("forbidden")); n != 0 {
		t.Fatalf("refused connection left in the channel (%d members)", n)
	}
}

func TestTypingRelayedDebouncedAndNotEchoed(t *testing.T) {
	f := newFixture(t, nil)
	alice := f.client("alice", wsclient.Options{})
	bob := f.client("bob", wsclient.Options{Subprotocol: wire.SubprotocolJSON})
	for _, c := range []*wsclient.Conn{alice, bob} {
		if err := c.Subscribe(ctx(t), "room"); err != nil {
			t.Fatal(err)
		}
	}
	alice2 := f.client("alice", wsclient.Options{}) // a second device of the same user
	if err := alice2.Subscribe(ctx(t), "room"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // only the first start of a burst is relayed, across the user's devices
		alice.Send(&wire.Frame{Type: wire.TypeTyping, Channel: "room"})
		alice2.Send(&wire.Frame{Type: wire.TypeTyping, Channel: "room"})
	}
	alice.Send(&wire.Frame{Type: wire.TypeTyping, Channel: "room", Stop: true})
	alice.Send(&wire.Frame{Type: wire.TypePing, ID: 1})
	var got []wire.Frame
	bob.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < 2 {
		var fr wire.Frame
		if err := bob.Read(&fr); err != nil {
			t.Fatal(err)
		}
		got = append(got, fr)
	}
	if got[0].Type != wire.TypeTyping || got[0].From != "alice" || got[0].Stop || got[1].Type != wire.TypeTyping || !got[1].Stop {
		t.Fatalf("bob got %+v", got)
	}
	var fr wire.Frame // alice sees her pong, not her own typing
	if err := alice.Read(&fr); err != nil || fr.Type != wire.TypePong {
		t.Fatalf("alice got %+v, %v", fr, err)
	}
	if _, err := alice.Call(ctx(t), &wire.Frame{Type: wire.TypeTyping, Channel: "elsewhere"}, nil); err == nil {
		t.Fatal("typing in an unsubscribed channel accepted")
	}
}

func TestHistoryAndReceiptForwarded(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client("alice", wsclient.Options{})
	for _, fr := range []wire.Frame{
		{Type: wire.TypeHistory, Channel: "room", Limit: 10},
		{Type: wire.TypeReceipt, Channel: "room", Seq: 3, Kind: wire.ReceiptRead},
	} {
		if _, err := c.Call(ctx(t), &fr, nil); err != nil {
			t.Fatalf("%v: %v", fr.Type, err)
		}
	}
}

// When core says a member left, that user's connections stop receiving the
// channel; the others keep it.
func TestMemberLeftEndsSubscriptions(t *testing.T) {
	f := newFixture(t, nil)
	bob := f.client("bob", wsclient.Options{})
	carol := f.client("carol", wsclient.Options{})
	for _, c := range []*wsclient.Conn{bob, carol} {
		if err := c.Subscribe(ctx(t), "room"); err != nil {
			t.Fatal(err)
		}
	}
	left := wire.Frame{Type: wire.TypeEvent, Kind: wire.EventMemberLeft, Channel: "room", From: "bob"}
	f.nc.Publish(bus.EventSubject("room"), wire.Msgpack.Append(nil, &left))
	for _, c := range []*wsclient.Conn{bob, carol} {
		var fr wire.Frame
		if err := c.Read(&fr); err != nil || fr.Kind != wire.EventMemberLeft {
			t.Fatalf("got %+v, %v", fr, err)
		}
	}
	waitFor(t, 5*time.Second, func() error {
		if n := len(f.srv.hub.members("room")); n != 1 {
			return errorf("room has %d local members, want 1", n)
		}
		return nil
	})
	if err := bob.Subscribe(ctx(t), "room"); err != nil { // and may subscribe again if core allows
		t.Fatal(err)
	}
}

// A plain subscribe core allowed recently is answered by the edge's cache;
// a resume always goes to core.
func TestSubscribeAnswerCached(t *testing.T) {
	f := newFixture(t, func(c *Config) {})
	c := f.client("alice", wsclient.Options{})
	if err := c.Subscribe(ctx(t), "room"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx(t), &wire.Frame{Type: wire.TypeUnsubscribe, Channel: "room"}, nil); err != nil {
		t.Fatal(err)
	}
	f.stopCore()
	if err := c.Subscribe(ctx(t), "room"); err != nil {
		t.Fatalf("cached subscribe: %v", err)
	}
	c.Call(ctx(t), &wire.Frame{Type: wire.TypeUnsubscribe, Channel: "room"}, nil)
	if _, err := c.Call(ctx(t), &wire.Frame{Type: wire.TypeSubscribe, Channel: "room", Seq: 5}, nil); err == nil {
		t.Fatal("resume answered without core")
	}
}
