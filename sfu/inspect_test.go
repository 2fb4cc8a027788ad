package sfu

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/internal/observe"
)

// TestInspectRooms: a node answers the console's rooms request with each
// room's participants, their tracks with layer statistics and, per
// subscriber, the layer forwarded to it; with no room it answers too.
func TestInspectRooms(t *testing.T) {
	srv, _ := bustest.Start(t)
	node := startNodeOn(t, srv)
	nc, err := bus.Connect(bus.Config{}, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ask := func() observe.SFURooms {
		t.Helper()
		m, err := nc.Request(observe.InspectRoomsSubject, nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var out observe.SFURooms
		if err := json.Unmarshal(m.Data, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := ask(); got.Node != node.ID() || got.Rooms == nil || len(got.Rooms) != 0 {
		t.Fatalf("no rooms: %+v", got)
	}

	const call = "n1-inspect"
	a := newTestClient(t, srv, call, "a")
	b := newTestClient(t, srv, call, "b")
	a.owner, b.owner = "a", "a"
	a.publish(webrtc.RTPCodecTypeVideo)
	b.publish(webrtc.RTPCodecTypeAudio)
	a.join()
	b.join()
	waitFor(t, 15*time.Second, "media both ways", func() bool { return a.packets("b/0") > 5 && b.packets("a/0") > 5 },
		a.describe, b.describe)

	var got observe.SFURooms
	waitFor(t, 10*time.Second, "the inspect view to show both tracks forwarded with a bitrate", func() bool {
		got = ask()
		if len(got.Rooms) != 1 || got.Rooms[0].Incomplete || len(got.Rooms[0].Participants) != 2 {
			return false
		}
		for _, p := range got.Rooms[0].Participants {
			if len(p.Tracks) != 1 || len(p.Tracks[0].Layers) != 1 || len(p.Tracks[0].Subscribers) != 1 {
				return false
			}
			if l := p.Tracks[0].Layers[0]; l.Packets == 0 || l.Bitrate == 0 || p.Tracks[0].Subscribers[0].Layer != 0 {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprintf("%+v", got) })
	r := got.Rooms[0]
	if r.ID != call {
		t.Errorf("room id %q, want %q", r.ID, call)
	}
	want := []struct{ user, kind, sub string }{{"a", "video", "b"}, {"b", "audio", "a"}}
	for i, p := range r.Participants {
		w := want[i]
		tr := p.Tracks[0]
		if p.User != w.user || p.Session != "s-"+w.user || p.Role != "speaker" || p.Muted || p.Hand ||
			tr.Mid != "0" || tr.Kind != w.kind || tr.Subscribers[0].User != w.sub {
			t.Errorf("participant %d: %+v", i, p)
		}
	}
}
