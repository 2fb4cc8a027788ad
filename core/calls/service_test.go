package calls_test

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/storage/sqlite"
	"github.com/salamhq/salam/wire"
)

// fixture is a calls service on a real NATS server and SQLite store, with
// clients that speak to it as an edge does: bus.Requests on the call
// subjects, deliveries read from the user subjects.
type fixture struct {
	t     *testing.T
	nc    *nats.Conn
	svc   *calls.Service
	store *sqlite.Store
}

func newFixture(t *testing.T, cfg calls.Config) *fixture {
	t.Helper()
	_, nc := bustest.Start(t)
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "calls.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, err := calls.NewService(nc, store, store, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	return &fixture{t: t, nc: nc, svc: svc, store: store}
}

// channel creates a group with members.
func (f *fixture) channel(id string, members ...string) {
	f.t.Helper()
	ctx := f.t.Context()
	if _, err := f.store.CreateChannel(ctx, chat.Channel{ID: id, Kind: chat.KindGroup, Name: id, MemberCap: 256,
		CreatedBy: members[0], CreatedAt: time.Now()}, members[0]); err != nil {
		f.t.Fatal(err)
	}
	for _, m := range members[1:] {
		if _, err := f.store.PutMember(ctx, id, m, chat.RoleMember); err != nil {
			f.t.Fatal(err)
		}
	}
}

// client is one user's connection as the service sees it through an edge.
type client struct {
	f       *fixture
	user    string
	session string
	seq     uint64

	mu  sync.Mutex
	got []*wire.Frame
	sub *nats.Subscription
}

func (f *fixture) client(user string) *client {
	f.t.Helper()
	c := &client{f: f, user: user, session: "s-" + user}
	sub, err := f.nc.Subscribe(bus.UserSubject(user), func(m *nats.Msg) {
		var d bus.Delivery
		if d.DecodeMsgpack(m.Data) != nil || (d.Session != "" && d.Session != c.session) {
			return
		}
		if m.Reply != "" {
			m.Respond([]byte{1})
		}
		if d.Kind != bus.DeliverFrame {
			return
		}
		fr := new(wire.Frame)
		if wire.Msgpack.Decode(d.Frame, fr) == nil {
			c.mu.Lock()
			c.got = append(c.got, fr)
			c.mu.Unlock()
		}
	})
	if err != nil {
		f.t.Fatal(err)
	}
	c.sub = sub
	f.nc.Flush()
	return c
}

// gone makes the client's connection vanish without a word (its edge died).
func (c *client) gone() { c.sub.Unsubscribe(); c.f.nc.Flush() }

// do sends a frame as the edge would and returns core's reply.
func (c *client) do(f *wire.Frame) *wire.Frame {
	c.f.t.Helper()
	subject := bus.CallCreateSubject
	if f.CallID != "" {
		subject, _ = bus.CallSubject(f.CallID)
	}
	req := bus.Request{User: c.user, Session: c.session, Received: time.Now().UnixNano(), Frame: wire.Msgpack.Append(nil, f)}
	m, err := c.f.nc.Request(subject, req.AppendMsgpack(nil), 5*time.Second)
	if errors.Is(err, nats.ErrNoResponders) { // what an edge answers then
		return &wire.Frame{Type: wire.TypeError, Code: wire.CodeUnavailable, CallID: f.CallID}
	}
	if err != nil {
		c.f.t.Fatalf("%s: %v", c.user, err)
	}
	out := new(wire.Frame)
	if err := wire.Msgpack.Decode(m.Data, out); err != nil {
		c.f.t.Fatal(err)
	}
	return out
}

// signal sends a signaling frame with the client's next sequence number.
func (c *client) signal(typ wire.Type, call, to string, data string) *wire.Frame {
	c.seq++
	return c.do(&wire.Frame{Type: typ, CallID: call, To: to, Seq: c.seq, Data: []byte(data)})
}

func (c *client) candidate(call, to string) *wire.Frame {
	return c.signal(wire.TypeCandidate, call, to, "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host")
}

// wait returns the first received frame matching, within 5 s.
func (c *client) wait(what string, match func(*wire.Frame) bool) *wire.Frame {
	c.f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, fr := range c.got {
			if match(fr) {
				c.mu.Unlock()
				return fr
			}
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	c.f.t.Fatalf("%s: no %s", c.user, what)
	return nil
}

func (c *client) event(kind uint8) *wire.Frame {
	c.f.t.Helper()
	return c.wait("call event", func(f *wire.Frame) bool { return f.Type == wire.TypeCall && f.Kind == kind })
}

func (c *client) has(match func(*wire.Frame) bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fr := range c.got {
		if match(fr) {
			return true
		}
	}
	return false
}

func wantCode(t *testing.T, what string, f *wire.Frame, code wire.Code) {
	t.Helper()
	if f.Type != wire.TypeError || f.Code != code {
		t.Fatalf("%s: %v %d %q, want error %d (%s)", what, f.Type, f.Code, f.Reason, code, code)
	}
}

func wantAck(t *testing.T, what string, f *wire.Frame) {
	t.Helper()
	if f.Type != wire.TypeAck {
		t.Fatalf("%s: %v %d %q, want ack", what, f.Type, f.Code, f.Reason)
	}
}

const (
	sdpOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\na=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\n"
	sdpAnswer = "v=0\r\no=- 3 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=mid:0\r\na=ice-ufrag:efgh\r\na=ice-pwd:0123456789abcdef012345\r\na=fingerprint:sha-256 AB:CD\r\na=setup:active\r\na=rtpmap:111 opus/48000/2\r\n"
)

// call sets up a call in channel between caller and the callees, who accept.
func (f *fixture) call(channel string, caller *client, callees ...*client) string {
	f.t.Helper()
	created := caller.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallCreate, Channel: channel})
	if created.Type != wire.TypeCall || created.CallID == "" {
		f.t.Fatalf("create: %+v", created)
	}
	for _, c := range callees {
		c.event(wire.CallRinging)
		if r := c.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallAccept, CallID: created.CallID}); r.Type != wire.TypeCall {
			f.t.Fatalf("accept: %+v", r)
		}
	}
	return created.CallID
}

// negotiate runs one offer/answer between a (offering) and b.
func negotiate(t *testing.T, call string, a, b *client) {
	t.Helper()
	wantAck(t, "offer", a.signal(wire.TypeOffer, call, b.user, sdpOffer))
	b.wait("offer", func(f *wire.Frame) bool { return f.Type == wire.TypeOffer && f.From == a.user })
	wantAck(t, "answer", b.signal(wire.TypeAnswer, call, a.user, sdpAnswer))
}

// Everything a client can get wrong is a typed error, and the call of
// others goes on unaffected.
func TestSignalingBadInput(t *testing.T) {
	f := newFixture(t, calls.Config{CandidateRate: 5, CandidateBurst: 10, MaxSDPBytes: 2048})
	f.channel("g1", "alice", "bob", "mallory")
	f.channel("g2", "carol", "dave")
	alice, bob, mallory, carol, dave := f.client("alice"), f.client("bob"), f.client("mallory"), f.client("carol"), f.client("dave")
	call := f.call("g1", alice, bob)
	other := f.call("g2", carol, dave)

	// A stranger to the call (a member of the channel who did not join),
	// and signaling to a stranger.
	wantCode(t, "signal from a non-participant", mallory.signal(wire.TypeOffer, call, "alice", sdpOffer), wire.CodeNotInCall)
	wantCode(t, "signal to a non-participant", alice.signal(wire.TypeOffer, call, "mallory", sdpOffer), wire.CodeTargetNotInCall)
	wantCode(t, "signal to someone of another call", alice.signal(wire.TypeOffer, call, "carol", sdpOffer), wire.CodeTargetNotInCall)
	wantCode(t, "unknown call", alice.signal(wire.TypeOffer, other[:strings.Index(other, "-")]+"-zzz", "bob", sdpOffer), wire.CodeCallNotFound)
	alice.seq = 0 // refused before the sequence check: nothing was taken

	// Out of order and duplicates.
	noOffer := alice.signal(wire.TypeAnswer, call, "bob", sdpAnswer)
	wantCode(t, "answer without offer", noOffer, wire.CodeNoOffer)
	if noOffer.CallID != call {
		t.Errorf("the error does not carry cid: %+v", noOffer)
	}
	wantCode(t, "candidate before any offer", alice.candidate(call, "bob"), wire.CodeOutOfOrder)
	wantCode(t, "ICE restart before a negotiation", alice.do(&wire.Frame{Type: wire.TypeOffer, Kind: wire.OfferICERestart,
		CallID: call, To: "bob", Seq: 3, Data: []byte(sdpOffer)}), wire.CodeOutOfOrder)
	alice.seq = 3
	wantCode(t, "duplicate sequence", alice.do(&wire.Frame{Type: wire.TypeOffer, CallID: call, To: "bob", Seq: 2, Data: []byte(sdpOffer)}), wire.CodeDuplicate)
	wantCode(t, "sequence gap", alice.do(&wire.Frame{Type: wire.TypeOffer, CallID: call, To: "bob", Seq: 9, Data: []byte(sdpOffer)}), wire.CodeOutOfOrder)
	wantCode(t, "no sequence", alice.do(&wire.Frame{Type: wire.TypeOffer, CallID: call, To: "bob", Data: []byte(sdpOffer)}), wire.CodeBadFrame)

	// Oversize and malformed SDP and candidates.
	wantCode(t, "oversize SDP", alice.signal(wire.TypeOffer, call, "bob", sdpOffer+strings.Repeat("a=x\r\n", 500)), wire.CodeTooLarge)
	for name, sdp := range map[string]string{
		"garbage":        "hello",
		"no media":       "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
		"no fingerprint": strings.Replace(sdpOffer, "a=fingerprint:sha-256 AB:CD\r\n", "", 1),
		"no ice-pwd":     strings.Replace(sdpOffer, "a=ice-pwd:0123456789abcdef012345\r\n", "", 1),
	} {
		wantCode(t, "malformed SDP: "+name, alice.signal(wire.TypeOffer, call, "bob", sdp), wire.CodeBadSDP)
	}
	if bob.has(func(f *wire.Frame) bool { return f.Type == wire.TypeOffer }) {
		t.Fatal("a refused offer reached bob")
	}
	negotiate(t, call, alice, bob)
	wantCode(t, "answer twice", bob.signal(wire.TypeAnswer, call, "alice", sdpAnswer), wire.CodeNoOffer)
	for name, cand := range map[string]string{
		"not a candidate": "hello",
		"control bytes":   "candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\na=evil",
		"too short":       "candidate:1 1 udp",
	} {
		wantCode(t, "malformed candidate: "+name, alice.signal(wire.TypeCandidate, call, "bob", cand), wire.CodeBadSDP)
	}
	wantCode(t, "oversize candidate", alice.signal(wire.TypeCandidate, call, "bob", "candidate:"+strings.Repeat("1", 600)), wire.CodeTooLarge)

	// A candidate flood is cut at the burst; carol and dave's call, and bob's
	// own candidates, are unaffected.
	limited := 0
	for range 40 {
		if r := alice.candidate(call, "bob"); r.Type == wire.TypeError {
			wantCode(t, "flood", r, wire.CodeRateLimited)
			limited++
		}
	}
	if limited < 25 {
		t.Errorf("%d of 40 flooded candidates refused, want ≥ 25 (burst 10, 5/s)", limited)
	}
	wantAck(t, "bob's candidate during alice's flood", bob.candidate(call, "alice"))
	negotiate(t, other, dave, carol)
	for range 5 {
		wantAck(t, "the other call's candidates", carol.candidate(other, "dave"))
	}
	dave.wait("candidate", func(f *wire.Frame) bool { return f.Type == wire.TypeCandidate && f.From == "carol" })
}

// Glare: both offer at once; the one who joined earlier (the caller) is
// impolite and wins.
func TestGlare(t *testing.T) {
	f := newFixture(t, calls.Config{})
	f.channel("g", "alice", "bob")
	alice, bob := f.client("alice"), f.client("bob")
	call := f.call("g", alice, bob)
	negotiate(t, call, bob, alice)
	renegotiate := func(c *client, to string) *wire.Frame {
		c.seq++
		return c.do(&wire.Frame{Type: wire.TypeOffer, Kind: wire.OfferRenegotiate, CallID: call, To: to, Seq: c.seq, Data: []byte(sdpOffer)})
	}
	// The polite side offered first: the impolite offer replaces it.
	wantAck(t, "bob (polite) renegotiates", renegotiate(bob, "alice"))
	wantAck(t, "alice (impolite) offers over it", renegotiate(alice, "bob"))
	wantAck(t, "bob rolls back and answers", bob.signal(wire.TypeAnswer, call, "alice", sdpAnswer))
	wantCode(t, "alice answers the dropped offer", alice.signal(wire.TypeAnswer, call, "bob", sdpAnswer), wire.CodeNoOffer)
	// The impolite side offered first: the polite offer is refused.
	wantAck(t, "alice offers", renegotiate(alice, "bob"))
	wantCode(t, "bob's offer collides", renegotiate(bob, "alice"), wire.CodeGlare)
	wantAck(t, "bob answers alice", bob.signal(wire.TypeAnswer, call, "alice", sdpAnswer))
}

// A participant whose connection vanished keeps its place for the grace:
// signaling to it is refused as temporary, a resume on a new session hides
// the drop, and after the grace the others see it leave.
func TestReconnectGrace(t *testing.T) {
	f := newFixture(t, calls.Config{ReconnectGrace: 400 * time.Millisecond, ProbeInterval: 100 * time.Millisecond})
	f.channel("g", "alice", "bob")
	alice, bob := f.client("alice"), f.client("bob")
	call := f.call("g", alice, bob)
	negotiate(t, call, bob, alice)
	bob.gone()
	time.Sleep(250 * time.Millisecond) // a probe found him gone
	wantCode(t, "signal to a reconnecting peer", alice.candidate(call, "bob"), wire.CodePeerReconnecting)
	bob = f.client("bob")
	bob.session = "s-bob-2"
	resumed := bob.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallJoin, CallID: call})
	if resumed.Type != wire.TypeCall || resumed.Seq != 1 {
		t.Fatalf("resume: %+v, want the call with s = 1 (his offer)", resumed)
	}
	wantAck(t, "bob's ICE restart", bob.do(&wire.Frame{Type: wire.TypeOffer, Kind: wire.OfferICERestart, CallID: call, To: "alice",
		Seq: 2, Data: []byte(sdpOffer)}))
	time.Sleep(600 * time.Millisecond)
	if alice.has(func(f *wire.Frame) bool { return f.Type == wire.TypeCall && f.Kind == wire.CallLeft }) {
		t.Fatal("alice saw bob leave although he resumed in time")
	}
	bob.gone()
	if left := alice.event(wire.CallLeft); left.From != "bob" {
		t.Fatalf("left: %+v", left)
	}
	wantCode(t, "signal to who left", alice.candidate(call, "bob"), wire.CodeTargetNotInCall)
}

// Ringing: offline members get a push; a decline by everyone ends the call;
// an unanswered call ends as missed.
func TestRinging(t *testing.T) {
	f := newFixture(t, calls.Config{RingTimeout: 300 * time.Millisecond})
	f.channel("g", "alice", "bob", "carol")
	pushes := make(chan *bus.Request, 4)
	f.nc.Subscribe(bus.PushCallSubject, func(m *nats.Msg) {
		var r bus.Request
		if r.DecodeMsgpack(m.Data) == nil {
			pushes <- &r
		}
	})
	alice, bob := f.client("alice"), f.client("bob") // carol has no connection
	created := alice.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallCreate, Channel: "g"})
	bob.event(wire.CallRinging)
	select {
	case p := <-pushes:
		var ring wire.Frame
		if p.User != "carol" || wire.Msgpack.Decode(p.Frame, &ring) != nil || ring.Kind != wire.CallRinging || ring.CallID != created.CallID {
			t.Fatalf("push: %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no push for offline carol")
	}
	wantCode(t, "accept by a non-member", f.client("zed").do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallAccept, CallID: created.CallID}), wire.CodeWrongState)
	wantCode(t, "end by a callee", bob.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallEnd, CallID: created.CallID}), wire.CodePermissionDenied)
	if r := bob.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallDecline, CallID: created.CallID}); r.Type != wire.TypeCall {
		t.Fatalf("decline: %+v", r)
	}
	if ended := alice.event(wire.CallEnded); ended.EndReason != wire.EndMissed {
		t.Fatalf("ended: %+v, want missed (carol never answered)", ended)
	}
	c, err := f.store.Call(t.Context(), created.CallID)
	for err == nil && c.EndReason == "" {
		time.Sleep(10 * time.Millisecond)
		c, err = f.store.Call(t.Context(), created.CallID)
	}
	if err != nil || c.EndReason != calls.EndMissed {
		t.Fatalf("history: %+v %v", c, err)
	}
	wantCode(t, "create in a channel of others", f.client("zed").do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallCreate, Channel: "g"}), wire.CodeNotMember)
	if r := f.client("zed").do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallCreate, Channel: "none"}); r.Code != wire.CodeChannelNotFound {
		t.Fatalf("no channel: %+v", r)
	}
}

// Past sfu_threshold participants the call escalates: everyone is told,
// peer-to-peer initial offers are refused, SFU-bound signals find no SFU
// yet (issue 6), and max_participants caps the call.
func TestEscalation(t *testing.T) {
	f := newFixture(t, calls.Config{SFUThreshold: 2, MaxParticipants: 3})
	f.channel("g", "a", "b", "c", "d")
	a, b, c, d := f.client("a"), f.client("b"), f.client("c"), f.client("d")
	call := f.call("g", a, b)
	if a.has(func(f *wire.Frame) bool { return f.Kind == wire.CallEscalated }) {
		t.Fatal("escalated at the threshold")
	}
	f.call2(call, c)
	if esc := a.event(wire.CallEscalated); !esc.SFU || len(esc.Users) != 3 || esc.From != "c" {
		t.Fatalf("escalated: %+v", esc)
	}
	wantCode(t, "a peer-to-peer offer in SFU mode", a.signal(wire.TypeOffer, call, "b", sdpOffer), wire.CodeSFUMode)
	wantCode(t, "an offer to the SFU, which is not there yet", a.signal(wire.TypeOffer, call, "", sdpOffer), wire.CodeUnavailable)
	wantCode(t, "a fourth participant", d.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallJoin, CallID: call}), wire.CodeCallFull)
	got, err := f.store.Call(t.Context(), call)
	for err == nil && !got.SFU {
		time.Sleep(10 * time.Millisecond)
		got, err = f.store.Call(t.Context(), call)
	}
}

func (f *fixture) call2(call string, c *client) {
	f.t.Helper()
	if r := c.do(&wire.Frame{Type: wire.TypeCall, Kind: wire.CallAccept, CallID: call}); r.Type != wire.TypeCall || !r.SFU {
		f.t.Fatalf("accept: %+v", r)
	}
}
