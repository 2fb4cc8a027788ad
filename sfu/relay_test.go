package sfu

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/wire"
)

// TestCascadeTwoNodes: one room spread over two SFU nodes on one NATS
// (each taking at most 2 participants), as core places it with
// calls.sfu_room_spread = 2 — u0 and u1 on the home
// node, u2 and u3 on the leaf, whose frames carry the home node. Each
// publishes a synthetic track and receives the 3 others' (over the relay
// for the other node's); u2 on the leaf speaks and every node names it an
// active speaker; the moderator (u0, on home) force-mutes u2 (on
// the leaf, where core sends the request) and u2's audio stops for
// everyone, who are told; u3 leaves and the others lose its track; the
// moderator kicks u2 and home's participants lose it, the leaf drops the
// room; the room ends and every goroutine is gone.
func TestCascadeTwoNodes(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Run("room", func(t *testing.T) { testCascadeTwoNodes(t) })
	goleak.VerifyNone(t, before)
}

func testCascadeTwoNodes(t *testing.T) {
	srv, _ := bustest.Start(t)
	// Two participants per node at most: the room of four outgrows each.
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home1", MaxParticipants: 2})
	leaf := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leaf1", MaxParticipants: 2})
	api := simulcastAPI(t) // negotiates the audio level extension
	const call = "n1-cascade"
	clients := make([]*testClient, 4)
	for i := range clients {
		c := newTestClientAPI(t, srv, api, call, fmt.Sprintf("u%d", i))
		c.owner = "u0"
		c.subject = bus.SFUNodeSubject(home.ID())
		if i >= 2 {
			c.subject, c.home = bus.SFUNodeSubject(leaf.ID()), home.ID()
		}
		kind := webrtc.RTPCodecTypeAudio
		if i%2 == 1 {
			kind = webrtc.RTPCodecTypeVideo
		}
		c.publish(kind)
		clients[i] = c
	}
	start := time.Now()
	for _, c := range clients {
		c.join()
	}
	explain := describeAll(clients)
	waitAllReceive(t, clients)
	t.Logf("all tracks flowing after %v", time.Since(start))
	for _, c := range clients {
		for _, o := range clients {
			if o != c && c.event(wire.RoomTrackPublished, o.user) == nil {
				t.Errorf("%s was not told that %s published", c.user, o.user)
			}
		}
	}
	if home.Rooms() != 1 || leaf.Rooms() != 1 {
		t.Errorf("rooms: home %d, leaf %d, want 1 each", home.Rooms(), leaf.Rooms())
	}
	// The console's view: each node shows the room's other node, and the
	// participants relayed from it.
	views := inspectAll(t, clients[0].nc, 2)
	for node, want := range map[string]struct{ home, link, relayed string }{
		home.ID(): {"", leaf.ID(), leaf.ID()}, leaf.ID(): {home.ID(), home.ID(), home.ID()}} {
		v := views[node]
		if len(v.Rooms) != 1 || v.Rooms[0].Home != want.home || !slices.Equal(v.Rooms[0].Links, []string{want.link}) {
			t.Errorf("%s's view: %+v, want home %q, links [%s]", node, v.Rooms, want.home, want.link)
			continue
		}
		for _, p := range v.Rooms[0].Participants {
			remote := (node == home.ID()) == (p.User == "u2" || p.User == "u3")
			if remote != (p.RelayedFrom == want.relayed) {
				t.Errorf("%s's view of %s: relayed from %q", node, p.User, p.RelayedFrom)
			}
			if !remote && !slices.ContainsFunc(p.Tracks[0].Subscribers, func(s observe.SFUSubscriber) bool { return s.User == "relay:"+want.link }) {
				t.Errorf("%s's view of %s: no relay among its subscribers %+v", node, p.User, p.Tracks[0].Subscribers)
			}
		}
	}

	// u2 (on the leaf) speaks: its node measures it, every node names it
	// an active speaker.
	clients[2].level.Store(10)
	for _, c := range []*testClient{clients[0], clients[1], clients[3]} {
		waitFor(t, 10*time.Second, c.user+" to see u2 speak", func() bool { return c.spoke("u2") }, explain)
	}

	// The moderator on home mutes u2 on the leaf: core sends the request to
	// u2's node, with the home node.
	mod := clients[0]
	mute := &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomMute, To: "u2", CallID: call, From: "u0"}
	req := bus.Request{User: "u0", Session: mod.session, Frame: wire.Msgpack.Append(nil, mute), Home: home.ID()}
	m, err := mod.nc.Request(bus.SFUNodeSubject(leaf.ID()), req.AppendMsgpack(nil), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if reply := new(wire.Frame); wire.Msgpack.Decode(m.Data, reply) != nil || reply.Type != wire.TypeAck {
		t.Fatalf("mute across nodes: %+v", reply)
	}
	for _, c := range []*testClient{clients[0], clients[1], clients[3]} {
		waitFor(t, 10*time.Second, c.user+" to be told u2 was muted", func() bool {
			f := c.event(wire.RoomMuted, "u2")
			return f != nil && f.Stop
		}, explain)
	}
	for _, c := range []*testClient{clients[0], clients[1], clients[3]} {
		waitQuiet(t, c, "u2/0", explain)
	}
	if n := clients[1].packets("u3/0"); n == 0 { // the others still flow
		t.Fatal("u1 lost u3")
	}
	t.Logf("muted after %v", time.Since(start))

	// u3 leaves the leaf (core tells its node): the others lose its track.
	clients[3].notice(wire.CallLeft)
	for _, c := range clients[:3] {
		waitFor(t, 10*time.Second, c.user+" to lose u3's track", func() bool {
			return c.event(wire.RoomTrackUnpublished, "u3") != nil && c.trackEnded("u3/0")
		}, explain)
	}
	before := clients[0].packets("u1/0")
	waitFor(t, 5*time.Second, "u0 to keep receiving u1", func() bool { return clients[0].packets("u1/0") > before+5 }, explain)
	t.Logf("left after %v", time.Since(start))
	for _, c := range clients {
		c.mu.Lock()
		if len(c.errs) > 0 {
			t.Errorf("%s: %v", c.user, c.errs)
		}
		c.mu.Unlock()
	}

	// The moderator kicks u2, the leaf's last participant: its node removes
	// it, home's participants are told and lose its track, the leaf drops
	// the room and its link.
	kick := &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomKick, To: "u2", CallID: call, From: "u0"}
	req = bus.Request{User: "u0", Session: mod.session, Frame: wire.Msgpack.Append(nil, kick), Home: home.ID()}
	if _, err := mod.nc.Request(bus.SFUNodeSubject(leaf.ID()), req.AppendMsgpack(nil), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients[:2] {
		waitFor(t, 10*time.Second, c.user+" to see u2 kicked", func() bool {
			return c.event(wire.RoomKicked, "u2") != nil && c.trackEnded("u2/0")
		}, explain)
	}
	waitFor(t, 10*time.Second, "the leaf to drop the room", func() bool { return leaf.Rooms() == 0 })

	// The call ends: core tells every node of the room.
	clients[0].notice(wire.CallEnded)
	clients[2].notice(wire.CallEnded)
	waitFor(t, 10*time.Second, "both nodes to drop the room", func() bool { return home.Rooms() == 0 && leaf.Rooms() == 0 })
}

// waitQuiet waits until c receives nothing more of track key for 300 ms.
func waitQuiet(t *testing.T, c *testClient, key string, explain func() string) {
	t.Helper()
	last, since := c.packets(key), time.Now()
	waitFor(t, 10*time.Second, c.user+" to stop receiving "+key, func() bool {
		if n := c.packets(key); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) > 300*time.Millisecond
	}, explain)
}

// spoke reports whether an active speakers event named user.
func (c *testClient) spoke(user string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.events {
		if f.Kind == wire.RoomActiveSpeakers && slices.Contains(f.Users, user) {
			return true
		}
	}
	return false
}

// linkedPair joins u0 to home and u1 to leaf (told its home) in call, both
// publishing audio, owner their moderator, and waits for media both ways.
func linkedPair(t *testing.T, srv *server.Server, call, owner string, home, leaf *Node) (u0, u1 *testClient) {
	t.Helper()
	u0 = newTestClient(t, srv, call, "u0")
	u0.subject = bus.SFUNodeSubject(home.ID())
	u1 = newTestClient(t, srv, call, "u1")
	u1.subject, u1.home = bus.SFUNodeSubject(leaf.ID()), home.ID()
	for _, c := range []*testClient{u0, u1} {
		c.owner = owner
		c.publish(webrtc.RTPCodecTypeAudio)
		c.join()
	}
	waitFor(t, 20*time.Second, "media between the nodes", func() bool { return u0.packets("u1/0") > 5 && u1.packets("u0/0") > 5 },
		u0.describe, u1.describe)
	return u0, u1
}

// TestCascadeRehome: the home node of a spread room dies (gone from the
// bus at once, no goodbye); core makes the leaf the home (a call frame
// without home hint) and places a newcomer on a third node with the new
// home: the leaf's participant loses the dead node's track and exchanges
// media with the newcomer.
func TestCascadeRehome(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home2"})
	leaf := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leaf2"})
	third := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "third2"})
	const call = "n1-rehome"
	_, u1 := linkedPair(t, srv, call, "u0", home, leaf)

	home.nc.Close() // dies: nothing more reaches the bus from it
	home.Stop()
	u1.home = "" // core: the leaf is home now
	u1.notice(wire.CallEscalated)
	waitFor(t, 10*time.Second, "u1 to lose u0's track", func() bool { return u1.event(wire.RoomTrackUnpublished, "u0") != nil },
		u1.describe)

	u2 := newTestClient(t, srv, call, "u2")
	u2.owner = "u0"
	u2.subject, u2.home = bus.SFUNodeSubject(third.ID()), leaf.ID()
	u2.publish(webrtc.RTPCodecTypeVideo)
	u2.join()
	waitFor(t, 20*time.Second, "media between the new home and the newcomer's node", func() bool {
		return u1.packets("u2/0") > 5 && u2.packets("u1/0") > 5
	}, u1.describe, u2.describe)
	if leaf.Rooms() != 1 || third.Rooms() != 1 {
		t.Errorf("rooms: leaf %d, third %d, want 1 each", leaf.Rooms(), third.Rooms())
	}
}

// TestCascadeSimulcast: a simulcast publisher on the leaf; its three
// layers cross the link as three tracks, so a subscriber on home receives
// the high layer by default and moves down and up with max_layer, its
// sequence numbers continuous across the switches; the leaf pauses the
// layers home does not use and resumes the one it switches to. Then the moderator
// makes the publisher a listener on its node: the subscriber on home is
// told and loses the track.
func TestCascadeSimulcast(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home3"})
	leaf := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leaf3"})
	const call = "n1-simrelay"
	api := simulcastAPI(t)
	pub := newTestClientAPI(t, srv, api, call, "pub")
	pub.owner = "sub"
	pub.subject, pub.home = bus.SFUNodeSubject(leaf.ID()), home.ID()
	pub.publishSimulcast()
	sub := newTestClientAPI(t, srv, api, call, "sub")
	sub.owner = "sub"
	sub.subject = bus.SFUNodeSubject(home.ID())
	var mu sync.Mutex
	var layers []byte
	var seqs []uint16
	sub.inspect = func(_ string, pkt []byte) {
		var p rtp.Packet
		if p.Unmarshal(pkt) != nil || len(p.Payload) < 3 {
			return
		}
		mu.Lock()
		layers, seqs = append(layers, p.Payload[2]), append(seqs, p.SequenceNumber)
		mu.Unlock()
	}
	if _, err := sub.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	sub.join()
	pub.join()
	steady := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		if len(layers) < n {
			return -1
		}
		for _, l := range layers[len(layers)-n:] {
			if l != layers[len(layers)-1] {
				return -1
			}
		}
		return int(layers[len(layers)-1])
	}
	explain := func() string { return sub.describe() + " / " + pub.describe() }
	waitFor(t, 15*time.Second, "the high layer over the link", func() bool { return steady(30) == 2 }, explain)
	// relayed reports which layers the leaf sends over the link (the others
	// are paused: home uses them not).
	relayed := func() []int {
		var out []int
		for _, p := range inspectAll(t, sub.nc, 2)[leaf.ID()].Rooms[0].Participants {
			for _, s := range p.Tracks[0].Subscribers {
				if s.User == "relay:"+home.ID() && !s.Paused {
					out = append(out, s.Target)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	for _, want := range []int{0, 1} {
		if _, err := sub.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomMaxLayer, To: "pub", Mid: "0", Limit: uint16(want)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, fmt.Sprintf("layer %d after max_layer %d", want, want), func() bool { return steady(20) == want }, explain)
		waitFor(t, 10*time.Second, fmt.Sprintf("only layer %d over the link", want), func() bool { return slices.Equal(relayed(), []int{want}) },
			func() string { return fmt.Sprint(relayed()) })
	}
	mu.Lock()
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Errorf("sequence jumps from %d to %d (layer %d to %d)", seqs[i-1], seqs[i], layers[i-1], layers[i])
		}
	}
	mu.Unlock()

	// The moderator (sub, on home) makes pub a listener: core sends it to pub's node.
	role := &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetRole, To: "pub", Limit: wire.RoleListener, CallID: call, From: "sub"}
	req := bus.Request{User: "sub", Session: sub.session, Frame: wire.Msgpack.Append(nil, role), Home: home.ID()}
	if _, err := sub.nc.Request(bus.SFUNodeSubject(leaf.ID()), req.AppendMsgpack(nil), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "sub to lose pub's track", func() bool {
		f := sub.event(wire.RoomRole, "pub")
		return f != nil && f.Limit == wire.RoleListener && sub.event(wire.RoomTrackUnpublished, "pub") != nil && sub.trackEnded("pub/0")
	}, explain)
}

// TestRelayBadInput: relay frames the node cannot use get typed errors and
// leave nothing behind: an offer for a room it does not hold, an offer
// that is not SDP; a node's goodbye closes a room nobody else holds.
func TestRelayBadInput(t *testing.T) {
	srv, _ := bustest.Start(t)
	node := startNodeOn(t, srv)
	nc, err := bus.Connect(bus.Config{}, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	const call = "n1-relaybad"
	send := func(f *wire.Frame) *wire.Frame {
		t.Helper()
		f.CallID = call
		req := bus.Request{User: relayUser("other1"), Frame: wire.Msgpack.Append(nil, f)}
		m, err := nc.Request(bus.SFUNodeSubject(node.ID()), req.AppendMsgpack(nil), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		reply := new(wire.Frame)
		if err := wire.Msgpack.Decode(m.Data, reply); err != nil {
			t.Fatal(err)
		}
		return reply
	}
	publish := func(f *wire.Frame) {
		t.Helper()
		f.CallID = call
		req := bus.Request{User: relayUser("other1"), Frame: wire.Msgpack.Append(nil, f)}
		if err := nc.Publish(bus.SFUNodeSubject(node.ID()), req.AppendMsgpack(nil)); err != nil {
			t.Fatal(err)
		}
	}
	if got := send(&wire.Frame{Type: wire.TypeOffer, Data: []byte("v=0")}); got.Code != wire.CodeOutOfOrder {
		t.Errorf("relay offer without a room: %+v, want out_of_order", got)
	}
	if node.Rooms() != 0 {
		t.Fatal("a relay offer made a room")
	}
	publish(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallJoin})
	waitFor(t, 5*time.Second, "the room of a linked node", func() bool { return node.Rooms() == 1 })
	if got := send(&wire.Frame{Type: wire.TypeOffer, Data: []byte("not sdp")}); got.Code != wire.CodeBadSDP {
		t.Errorf("relay offer that is not SDP: %+v, want bad_sdp", got)
	}
	publish(&wire.Frame{Type: wire.TypeRoom, Kind: relayLevelsKind, Users: []string{"ghost"}}) // no such stand-in: ignored
	publish(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallLeft, From: "ghost"})
	publish(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallEnded})
	waitFor(t, 5*time.Second, "the room to close with its only link", func() bool { return node.Rooms() == 0 })
}

// inspectAll asks every node for its rooms (observe.InspectRoomsSubject)
// and returns the n first answers by node.
func inspectAll(t *testing.T, nc *nats.Conn, n int) map[string]observe.SFURooms {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(observe.InspectRoomsSubject, inbox, nil); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]observe.SFURooms)
	for len(out) < n {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var v observe.SFURooms
		if err := json.Unmarshal(m.Data, &v); err != nil {
			t.Fatal(err)
		}
		out[v.Node] = v
	}
	return out
}

// TestCascadeStageLateLeaf: a room in stage mode on its home node spreads
// to a leaf later: the leaf takes the mode from home, so its newcomer is
// told and becomes a listener (home's moderator is told too and does not
// receive it); it receives the moderator, a speaker, and not home's other
// listener. The moderator makes it a speaker (at its node): the moderator
// receives it.
func TestCascadeStageLateLeaf(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home4"})
	leaf := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leaf4"})
	const call = "n1-stage"
	mod := newTestClient(t, srv, call, "mod")
	other := newTestClient(t, srv, call, "other")
	for _, c := range []*testClient{mod, other} {
		c.owner, c.subject = "mod", bus.SFUNodeSubject(home.ID())
		c.publish(webrtc.RTPCodecTypeAudio)
		c.join()
	}
	waitFor(t, 10*time.Second, "media between mod and other", func() bool { return mod.packets("other/0") > 5 && other.packets("mod/0") > 5 },
		mod.describe, other.describe)
	if _, err := mod.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetMode, Limit: wire.ModeStage}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "other to become a listener", func() bool {
		f := other.event(wire.RoomRole, "other")
		return f != nil && f.Limit == wire.RoleListener && mod.trackEnded("other/0")
	}, mod.describe, other.describe)

	late := newTestClient(t, srv, call, "late")
	late.owner, late.subject, late.home = "mod", bus.SFUNodeSubject(leaf.ID()), home.ID()
	late.publish(webrtc.RTPCodecTypeAudio)
	late.join()
	explain := func() string { return mod.describe() + "\n" + other.describe() + "\n" + late.describe() }
	waitFor(t, 10*time.Second, "late told the stage mode and its listener role, the moderator too", func() bool {
		mode, role := late.event(wire.RoomMode, ""), mod.event(wire.RoomRole, "late")
		return mode != nil && mode.Limit == wire.ModeStage && role != nil && role.Limit == wire.RoleListener
	}, explain)
	waitFor(t, 10*time.Second, "late to receive the moderator", func() bool { return late.packets("mod/0") > 5 }, explain)
	if late.packets("other/0") > 0 || mod.packets("late/0") > 0 {
		t.Errorf("a listener's track was forwarded: late got other's %d packets, mod got late's %d",
			late.packets("other/0"), mod.packets("late/0"))
	}

	// The moderator makes late a speaker: core sends it to late's node.
	role := &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomSetRole, To: "late", Limit: wire.RoleSpeaker, CallID: call, From: "mod"}
	req := bus.Request{User: "mod", Session: mod.session, Frame: wire.Msgpack.Append(nil, role), Home: home.ID()}
	if _, err := mod.nc.Request(bus.SFUNodeSubject(leaf.ID()), req.AppendMsgpack(nil), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the moderator to receive late", func() bool { return mod.packets("late/0") > 5 }, explain)
	if other.packets("late/0") < 1 {
		waitFor(t, 10*time.Second, "other (a listener) to receive late", func() bool { return other.packets("late/0") > 5 }, explain)
	}
}

// TestCascadeThroughHome: two leaves of one home; home forwards each
// leaf's tracks, events and audio levels to the other: the participants of
// the two leaves receive each other's tracks, see each other speak, and
// one leaving is seen by the other leaf's participant.
func TestCascadeThroughHome(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home5"})
	leafA := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leafa5"})
	leafB := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leafb5"})
	const call = "n1-star"
	api := simulcastAPI(t) // audio levels
	var clients []*testClient
	for i, node := range []*Node{home, leafA, leafB} {
		c := newTestClientAPI(t, srv, api, call, fmt.Sprintf("u%d", i))
		c.owner, c.subject = "u0", bus.SFUNodeSubject(node.ID())
		if node != home {
			c.home = home.ID()
		}
		c.publish(webrtc.RTPCodecTypeAudio)
		c.join()
		clients = append(clients, c)
	}
	explain := describeAll(clients)
	waitAllReceive(t, clients)
	clients[1].level.Store(10)
	waitFor(t, 10*time.Second, "u2 (leaf B) to see u1 (leaf A) speak", func() bool { return clients[2].spoke("u1") }, explain)
	clients[1].notice(wire.CallLeft)
	waitFor(t, 10*time.Second, "u2 to lose u1's track", func() bool {
		return clients[2].event(wire.RoomTrackUnpublished, "u1") != nil && clients[2].trackEnded("u1/0")
	}, explain)
	waitFor(t, 10*time.Second, "leaf A to drop the room", func() bool { return leafA.Rooms() == 0 })
	before := clients[2].packets("u0/0")
	waitFor(t, 5*time.Second, "u2 to keep receiving u0", func() bool { return clients[2].packets("u0/0") > before+5 }, explain)
}

// TestCascadeRelink: a leaf whose link to home dropped (as when its peer
// connection fails) links again: home's participant loses the leaf's track,
// then receives it again.
func TestCascadeRelink(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home6"})
	leaf := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leaf6"})
	const call = "n1-relink"
	u0, u1 := linkedPair(t, srv, call, "u0", home, leaf)
	explain := describeAll([]*testClient{u0, u1})

	leaf.mu.Lock()
	r := leaf.rooms[call]
	leaf.mu.Unlock()
	r.enqueue(func() { r.dropLink(r.links[home.ID()], true) })
	waitFor(t, 10*time.Second, "u0 to lose u1's track", func() bool { return u0.trackEnded("u1/0") }, explain)
	waitFor(t, 10*time.Second, "u0 to receive u1 again", func() bool { return !u0.trackEnded("u1/0") && u0.packets("u1/0") > 5 }, explain)
	waitFor(t, 10*time.Second, "u1 to receive u0 again", func() bool { return !u1.trackEnded("u0/0") && u1.packets("u0/0") > 5 }, explain)
}

// TestCascadeMoved: u1's node (leaf A) drops off the bus, so core deems it
// dead and places u1, reconnecting from a new session, on leaf B. Home
// still holds u1's stand-in from A (A's link is up: nothing told home
// u1 left), yet it must take u1's tracks from B, the node u1 moved to:
// u0 on home receives u1 again.
func TestCascadeMoved(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home7"})
	leafA := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leafa7"})
	leafB := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leafb7"})
	const call = "n1-moved"
	u0, u1 := linkedPair(t, srv, call, "u0", home, leafA)

	leafA.nc.Close() // off the bus: it can tell nobody anything; its peer connections stay up
	u1.close()
	waitQuiet(t, u0, "u1/0", u0.describe)
	quiet := u0.packets("u1/0")

	moved := newTestClient(t, srv, call, "u1")
	moved.session, moved.owner = "s-u1-moved", "u0"
	moved.subject, moved.home = bus.SFUNodeSubject(leafB.ID()), home.ID()
	moved.publish(webrtc.RTPCodecTypeAudio)
	moved.join()
	explain := func() string { return u0.describe() + "\n" + moved.describe() }
	waitFor(t, 20*time.Second, "u1, moved to leaf B, to reach u0 and u0 it", func() bool {
		return u0.event(wire.RoomTrackUnpublished, "u1") != nil && !u0.trackEnded("u1/0") && u0.packets("u1/0") > quiet+5 &&
			moved.packets("u0/0") > 5
	}, explain)
}

// TestCascadeUserIDs: user ids may hold spaces and any printable UTF-8
// (internal/auth): a relayed track names its publisher in the SDP's msid,
// which is split at spaces, so the ids cross a link escaped. u0 on home
// is told of each leaf publisher's track and receives it.
func TestCascadeUserIDs(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home8"})
	leaf := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leaf8"})
	const call = "n1-userids"
	u0 := newTestClient(t, srv, call, "u0")
	u0.owner, u0.subject = "u0", bus.SFUNodeSubject(home.ID())
	u0.publish(webrtc.RTPCodecTypeAudio)
	u0.join()
	clients := []*testClient{u0}
	for _, user := range []string{"Ada Lovelace", "ü/%2~x"} {
		c := newTestClient(t, srv, call, user)
		c.owner, c.subject, c.home = "u0", bus.SFUNodeSubject(leaf.ID()), home.ID()
		c.publish(webrtc.RTPCodecTypeAudio)
		c.join()
		clients = append(clients, c)
	}
	explain := describeAll(clients)
	for _, c := range clients[1:] {
		waitFor(t, 20*time.Second, "u0 to be told of "+c.user+"'s track", func() bool {
			return u0.event(wire.RoomTrackPublished, c.user) != nil
		}, explain)
		waitFor(t, 10*time.Second, c.user+" to receive u0", func() bool { return c.packets("u0/0") > 5 }, explain)
	}
	waitFor(t, 10*time.Second, "u0 to receive "+clients[2].user, func() bool { return u0.packets(clients[2].user+"/0") > 5 }, explain)
}

// TestCascadeOfferOverStandIn: a participant's stand-in is on the node
// its first offer reaches (core placed it there again), and that offer is
// not marked initial (a buggy client: PROTOCOL.md §22 wants k=0 there).
// The stand-in still goes before the participant joins: the node holds the
// user once, as its own participant, and leaves nothing of the stand-in
// behind when it leaves.
func TestCascadeOfferOverStandIn(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home10"})
	leaf := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leaf10"})
	const call = "n1-overstandin"
	_, u1 := linkedPair(t, srv, call, "u0", home, leaf)

	again := newTestClient(t, srv, call, "u0")
	again.session, again.owner = "s-u0-again", "u0"
	again.subject, again.home = bus.SFUNodeSubject(leaf.ID()), home.ID()
	again.publish(webrtc.RTPCodecTypeAudio)
	offer, err := again.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(again.pc)
	if err := again.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if _, err := again.request(&wire.Frame{Type: wire.TypeOffer, Kind: wire.OfferRenegotiate,
		Data: []byte(again.pc.LocalDescription().SDP)}); err != nil {
		t.Fatal(err)
	}
	leafView := func() []observe.SFUParticipant {
		rooms := inspectAll(t, u1.nc, 2)[leaf.ID()].Rooms
		if len(rooms) == 0 {
			return nil
		}
		return rooms[0].Participants
	}
	var u0s []observe.SFUParticipant
	for _, p := range leafView() {
		if p.User == "u0" {
			u0s = append(u0s, p)
		}
	}
	if len(u0s) != 1 || u0s[0].RelayedFrom != "" {
		t.Fatalf("the leaf holds u0 as %+v, want once, its own participant", u0s)
	}
	again.notice(wire.CallLeft)
	waitFor(t, 10*time.Second, "u0 to leave the leaf", func() bool {
		return !slices.ContainsFunc(leafView(), func(p observe.SFUParticipant) bool { return p.User == "u0" })
	}, func() string { return fmt.Sprintf("%+v", leafView()) })
}

// TestRelayEventKinds: a linked node passes on the moderation events its
// side announces (hands, mutes, kicks, roles); a room frame of any other
// kind from it (one of a newer node's private kinds, or an event each node
// makes for itself, like a track published) is neither delivered to the
// participants here nor passed on.
func TestRelayEventKinds(t *testing.T) {
	srv, _ := bustest.Start(t)
	node := startNodeOn(t, srv)
	const call = "n1-relaykinds"
	u0 := newTestClient(t, srv, call, "u0")
	u0.owner, u0.subject = "u0", bus.SFUNodeSubject(node.ID())
	// Nothing published: no track to send the fake node, whose link stays.
	if _, err := u0.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	u0.join()
	publish := func(f *wire.Frame) {
		t.Helper()
		f.CallID = call
		req := bus.Request{User: relayUser("other1"), Frame: wire.Msgpack.Append(nil, f)}
		if err := u0.nc.Publish(bus.SFUNodeSubject(node.ID()), req.AppendMsgpack(nil)); err != nil {
			t.Fatal(err)
		}
	}
	publish(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallJoin})
	for _, kind := range []uint8{250, wire.RoomTrackPublished, wire.RoomActiveSpeakers, wire.RoomMute} {
		publish(&wire.Frame{Type: wire.TypeRoom, Kind: kind, From: "ghost", Mid: "0", Users: []string{"ghost"}})
	}
	publish(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomHandRaised, From: "ghost"}) // after the others
	waitFor(t, 10*time.Second, "ghost's hand", func() bool { return u0.event(wire.RoomHandRaised, "ghost") != nil }, u0.describe)
	u0.mu.Lock()
	defer u0.mu.Unlock()
	for _, f := range u0.events {
		if f.Kind != wire.RoomHandRaised {
			t.Errorf("delivered from the relay: %+v", f)
		}
	}
}

// TestCascadeEndNoRelink: core ends the call on home, then on the leaf
// (its frame carrying home, as every frame to a leaf does); the leaf takes
// home's goodbye first. It closes without linking to home again: no
// CallJoin reaches home, which would make the closed room anew.
func TestCascadeEndNoRelink(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home11"})
	leaf := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leaf11"})
	const call = "n1-endnorelink"
	u0, u1 := linkedPair(t, srv, call, "u0", home, leaf)

	sub := func(node *Node) *nats.Subscription { // what reaches node from now on
		s, err := u0.nc.SubscribeSync(bus.SFUNodeSubject(node.ID()))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	toHome, toLeaf := sub(home), sub(leaf)
	if err := u0.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	next := func(s *nats.Subscription) (*bus.Request, *wire.Frame, bool) {
		m, err := s.NextMsg(300 * time.Millisecond)
		if err != nil {
			return nil, nil, false
		}
		req, f := new(bus.Request), new(wire.Frame)
		if req.DecodeMsgpack(m.Data) != nil || wire.Msgpack.Decode(req.Frame, f) != nil {
			t.Fatal("undecodable frame")
		}
		return req, f, true
	}
	// The leaf's goroutine waits until both ends are queued, home's first.
	leaf.mu.Lock()
	r := leaf.rooms[call]
	leaf.mu.Unlock()
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	r.enqueue(func() { <-release })
	u0.notice(wire.CallEnded)
	waitFor(t, 10*time.Second, "home's goodbye to the leaf", func() bool {
		req, f, ok := next(toLeaf)
		return ok && req.User == relayUser(home.ID()) && f.Type == wire.TypeCall && f.Kind == wire.CallEnded
	})
	u1.notice(wire.CallEnded)
	waitFor(t, 10*time.Second, "core's end to reach the leaf", func() bool { return len(r.ops) >= 2 })
	free()
	waitFor(t, 10*time.Second, "both nodes to drop the room", func() bool { return leaf.Rooms() == 0 && home.Rooms() == 0 })
	for {
		req, f, ok := next(toHome)
		if !ok {
			break
		}
		if req.User == relayUser(leaf.ID()) && f.Type == wire.TypeCall && f.Kind == wire.CallJoin {
			t.Errorf("the leaf linked to home again after the call ended")
		}
	}
}

// TestSpreadVisitorRequests: in a spread room, a room request from a user
// with no participant on this node is taken only when it moderates
// someone here (core sends those to the target's node): the moderator's
// mute is applied; a track request (subscribe, pause, max layer...), which
// core sends to the requester's own node, is refused as from any user
// without a participant here, not acknowledged and dropped.
func TestSpreadVisitorRequests(t *testing.T) {
	srv, _ := bustest.Start(t)
	home := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "home12"})
	leaf := startNodeReg(t, srv, nil, Config{Loopback: true, NodeID: "leaf12"})
	const call = "n1-visitor"
	u0, _ := linkedPair(t, srv, call, "u1", home, leaf)
	// u1, on the leaf, as core would never send it: to home.
	stray := newTestClient(t, srv, call, "u1")
	stray.owner, stray.subject = "u1", bus.SFUNodeSubject(home.ID())
	for _, kind := range []uint8{wire.RoomSubscribe, wire.RoomUnsubscribe, wire.RoomPause, wire.RoomResume, wire.RoomMaxLayer} {
		if _, err := stray.request(&wire.Frame{Type: wire.TypeRoom, Kind: kind, To: "u0", Mid: "0"}); wireCode(err) != wire.CodeOutOfOrder {
			t.Errorf("track request %d at a node the user is not on: %v, want out_of_order", kind, err)
		}
	}
	// u1, the moderator, mutes u0: core sends it to u0's node.
	if _, err := stray.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomMute, To: "u0"}); err != nil {
		t.Fatalf("the moderator's mute from another node: %v", err)
	}
	waitFor(t, 10*time.Second, "u0 to be told it was muted", func() bool { return u0.event(wire.RoomMuted, "u0") != nil }, u0.describe)
}
