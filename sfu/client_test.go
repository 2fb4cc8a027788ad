package sfu

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/rtctest"
	"github.com/salamhq/salam/wire"
)

// testClient is a pion peer that talks to the SFU the way core and an edge
// carry a real client's frames: its signaling as bus.Requests on the SFU
// subject (core forwards exactly those), the SFU's frames to it as
// bus.Deliveries on its user subject.
type testClient struct {
	t             testing.TB
	user, session string
	call          string
	owner         string // the call's owner, which core stamps on room requests
	subject       string
	home          string // the room's home node, as core tells a leaf node (bus.Request.Home)
	nc            *nats.Conn
	pc            *webrtc.PeerConnection
	seq           atomic.Uint64
	sig           sync.Mutex // one offer/answer exchange at a time, as a real client does

	mu       sync.Mutex
	events   []*wire.Frame // room frames received
	received map[string]*atomic.Int64
	ended    map[string]bool // tracks whose reading ended (removed by renegotiation)
	offers   int             // SFU offers answered
	inspect  func(key string, pkt []byte)
	level    atomic.Int32            // audio level sent (0 loudest … 127 silence) when the extension is negotiated
	plis     [maxLayers]atomic.Int64 // PLIs received for each simulcast layer sent (publishSimulcastCodec)
	errs     []error
	stop     chan struct{}
	wg       sync.WaitGroup
}

func newTestClient(t testing.TB, srv *server.Server, call, user string) *testClient {
	t.Helper()
	api, err := rtctest.API()
	if err != nil {
		t.Fatal(err)
	}
	return newTestClientAPI(t, srv, api, call, user)
}

func newTestClientAPI(t testing.TB, srv *server.Server, api *webrtc.API, call, user string) *testClient {
	t.Helper()
	nc, err := bus.Connect(bus.Config{}, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{t: t, user: user, session: "s-" + user, call: call, subject: bus.SFUSignalSubject, nc: nc,
		pc: pc, received: make(map[string]*atomic.Int64), ended: make(map[string]bool), stop: make(chan struct{})}
	t.Cleanup(c.close)
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		user, _ := url.PathUnescape(track.StreamID()) // PROTOCOL.md §22: the publisher's user id, escaped
		key := user + "/" + track.ID()
		n := new(atomic.Int64)
		c.mu.Lock()
		c.received[key] = n
		delete(c.ended, key)
		c.mu.Unlock()
		c.mu.Lock()
		inspect := c.inspect
		c.mu.Unlock()
		buf := make([]byte, 1500)
		for {
			size, _, err := track.Read(buf)
			if err != nil {
				c.mu.Lock()
				if c.received[key] == n {
					c.ended[key] = true
				}
				c.mu.Unlock()
				return
			}
			if inspect != nil {
				inspect(key, buf[:size])
			}
			n.Add(1)
		}
	})
	if _, err := nc.Subscribe(bus.UserSubject(user), c.onDelivery); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *testClient) close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.wg.Wait()
	_ = c.pc.Close()
	c.nc.Close()
}

// publish adds a synthetic track: VP8 (a keyframe every 10th packet) or
// Opus, 50 packets/s, until the client closes.
func (c *testClient) publish(kind webrtc.RTPCodecType) *webrtc.TrackLocalStaticRTP {
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if kind == webrtc.RTPCodecTypeVideo {
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	}
	track, err := webrtc.NewTrackLocalStaticRTP(codec, "t-"+c.user, c.user)
	if err != nil {
		c.t.Fatal(err)
	}
	sender, err := c.pc.AddTrack(track)
	if err != nil {
		c.t.Fatal(err)
	}
	var levelID uint8
	for _, ext := range sender.GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI {
			levelID = uint8(ext.ID)
		}
	}
	c.level.Store(127)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			p := syntheticPacket(kind, i)
			if levelID != 0 && kind == webrtc.RTPCodecTypeAudio {
				_ = p.Header.SetExtension(levelID, []byte{byte(c.level.Load())})
			}
			_ = track.WriteRTP(p)
		}
	}()
	return track
}

// syntheticPacket is packet i of a synthetic stream.
func syntheticPacket(kind webrtc.RTPCodecType, i int) *rtp.Packet {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960}}
	if kind == webrtc.RTPCodecTypeVideo {
		p.Timestamp = uint32(i) * 3000
		frame := byte(0x01) // interframe
		if i%10 == 0 {
			frame = 0x00 // keyframe
		}
		p.Payload = []byte{0x10, frame, 0x02, 0x03, 0x04, 0x05}
	} else {
		p.Payload = []byte{0xfc, 0x01, 0x02, 0x03}
	}
	return p
}

// request sends f to the SFU as core would and returns the reply.
func (c *testClient) request(f *wire.Frame) (*wire.Frame, error) {
	f.CallID = c.call
	if f.Type == wire.TypeRoom {
		f.From = c.owner
	} else if f.Type != wire.TypeCall {
		f.Seq = c.seq.Add(1)
	}
	req := bus.Request{User: c.user, Session: c.session, Frame: wire.Msgpack.Append(nil, f), Home: c.home}
	m, err := c.nc.Request(c.subject, req.AppendMsgpack(nil), 10*time.Second)
	if err != nil {
		return nil, err
	}
	reply := new(wire.Frame)
	if err := wire.Msgpack.Decode(m.Data, reply); err != nil {
		return nil, err
	}
	if reply.Type == wire.TypeError {
		return reply, &wire.Error{Code: reply.Code, Reason: reply.Reason}
	}
	return reply, nil
}

// notice publishes what core tells the SFU about the client: a call frame
// of kind (CallLeft, CallEnded), without reply.
func (c *testClient) notice(kind uint8) {
	f := &wire.Frame{Type: wire.TypeCall, Kind: kind, CallID: c.call}
	req := bus.Request{User: c.user, Session: c.session, Frame: wire.Msgpack.Append(nil, f), Home: c.home}
	if err := c.nc.Publish(c.subject, req.AppendMsgpack(nil)); err != nil {
		c.t.Fatal(err)
	}
}

// join offers what the client publishes and applies the SFU's answer.
func (c *testClient) join() {
	c.t.Helper()
	c.sig.Lock()
	defer c.sig.Unlock()
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		c.t.Fatal(err)
	}
	<-gathered
	reply, err := c.request(&wire.Frame{Type: wire.TypeOffer, Kind: wire.OfferInitial,
		Data: []byte(c.pc.LocalDescription().SDP)})
	if err != nil {
		c.t.Fatalf("%s offer: %v", c.user, err)
	}
	if reply.Type != wire.TypeAnswer {
		c.t.Fatalf("%s offer: reply type %v", c.user, reply.Type)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(reply.Data)}); err != nil {
		c.t.Fatal(err)
	}
}

// onDelivery takes the SFU's frames: offers are answered, room events kept.
func (c *testClient) onDelivery(m *nats.Msg) {
	var d bus.Delivery
	f := new(wire.Frame)
	if err := d.DecodeMsgpack(m.Data); err != nil || wire.Msgpack.Decode(d.Frame, f) != nil {
		c.fail(errors.New("bad delivery"))
		return
	}
	if d.Session != c.session {
		return
	}
	switch f.Type {
	case wire.TypeOffer:
		if err := c.answer(f); err != nil {
			c.fail(fmt.Errorf("%s answering: %w", c.user, err))
		}
	case wire.TypeRoom:
		c.mu.Lock()
		c.events = append(c.events, f)
		c.mu.Unlock()
	}
}

func (c *testClient) answer(f *wire.Frame) error {
	c.sig.Lock()
	defer c.sig.Unlock()
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(f.Data)}); err != nil {
		return err
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	if _, err := c.request(&wire.Frame{Type: wire.TypeAnswer, Data: []byte(answer.SDP)}); err != nil {
		return err
	}
	c.mu.Lock()
	c.offers++
	c.mu.Unlock()
	return nil
}

func (c *testClient) fail(err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

// packets returns how many packets arrived of track key ("user/mid").
func (c *testClient) packets(key string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.received[key]; n != nil {
		return n.Load()
	}
	return 0
}

func (c *testClient) trackEnded(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended[key]
}

// event returns the first room event of kind about from, or nil.
func (c *testClient) event(kind uint8, from string) *wire.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.events {
		if f.Kind == kind && (from == "" || f.From == from) {
			return f
		}
	}
	return nil
}

func (c *testClient) describe() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: pc %s, offers %d, errs %v, tracks:", c.user, c.pc.ConnectionState(), c.offers, c.errs)
	for k, n := range c.received {
		fmt.Fprintf(&b, " %s=%d(ended %v)", k, n.Load(), c.ended[k])
	}
	return b.String()
}

// waitFor polls cond until it holds or within passes.
// describeAll explains a failed wait with every client's state.
func describeAll(clients []*testClient) func() string {
	return func() string {
		s := ""
		for _, c := range clients {
			s += c.describe() + "\n"
		}
		return s
	}
}

// waitAllReceive waits until every client receives every other's first
// track (mid 0).
func waitAllReceive(t testing.TB, clients []*testClient) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("every client to receive the %d others' tracks", len(clients)-1), func() bool {
		for _, c := range clients {
			for _, o := range clients {
				if o != c && c.packets(o.user+"/0") < 5 {
					return false
				}
			}
		}
		return true
	}, describeAll(clients))
}

func waitFor(t testing.TB, within time.Duration, what string, cond func() bool, explain ...func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			for _, e := range explain {
				msg += "\n" + e()
			}
			t.Fatalf("timed out waiting for %s%s", what, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
