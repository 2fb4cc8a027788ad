package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/internal/rtctest"
	"github.com/salamhq/salam/wire"
)

// simulcastAPI is a loopback pion API that can send simulcast (the mid and
// RID header extensions) and audio levels.
func simulcastAPI(t testing.TB) *webrtc.API {
	t.Helper()
	var media webrtc.MediaEngine
	if err := media.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	var reg interceptor.Registry
	if err := webrtc.RegisterDefaultInterceptors(&media, &reg); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(&media), webrtc.WithInterceptorRegistry(&reg),
		webrtc.WithSettingEngine(rtctest.SettingEngine()))
}

// publishSimulcast sends three VP8 layers: see publishSimulcastCodec.
func (c *testClient) publishSimulcast() { c.publishSimulcastCodec(webrtc.MimeTypeVP8) }

// simulcastHeader is the first payload byte of a synthetic packet of a
// codec, a keyframe or not, which the SFU's keyframe detection reads: the
// VP8 payload descriptor with S (RFC 7741 §4.2); the VP9 one with B and E,
// and P on an inter frame (RFC 9628 §4.2); the AV1 aggregation header with
// W 1, and N on a keyframe (AV1 RTP spec §4.4); the H.265 NAL unit
// header's type, IDR or trailing picture (RFC 7798 §1.1.4). Payload byte
// 1 (the VP8 frame header's P bit) is 0 on a keyframe for every codec.
func simulcastHeader(mime string, key bool) byte {
	switch mime {
	case webrtc.MimeTypeVP9:
		if key {
			return 0x0c
		}
		return 0x4c
	case webrtc.MimeTypeAV1:
		if key {
			return 0x18
		}
		return 0x10
	case webrtc.MimeTypeH265:
		if key {
			return 0x26 // NAL unit type 19, IDR_W_RADL
		}
		return 0x02 // type 1, TRAIL_R
	}
	return 0x10
}

// publishSimulcastCodec sends three layers q, h, f of a video codec (VP8,
// VP9, AV1 or H.265; payload byte 2 is the layer, byte 1 is 0 on a
// keyframe and 1 otherwise; 200, 600 and 1,100-byte packets, so about 80,
// 240 and 440 kbit/s at 50 packets/s), each with a keyframe every 10
// packets.
func (c *testClient) publishSimulcastCodec(mime string) {
	codec := webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}
	if mime == webrtc.MimeTypeVP9 {
		codec.SDPFmtpLine = "profile-id=0"
	}
	var tracks []*webrtc.TrackLocalStaticRTP
	var sender *webrtc.RTPSender
	for i, rid := range []string{"q", "h", "f"} {
		track, err := webrtc.NewTrackLocalStaticRTP(codec, "video", c.user, webrtc.WithRTPStreamID(rid))
		if err != nil {
			c.t.Fatal(err)
		}
		if i == 0 {
			sender, err = c.pc.AddTrack(track)
		} else {
			err = sender.AddEncoding(track)
		}
		if err != nil {
			c.t.Fatal(err)
		}
		tracks = append(tracks, track)
	}
	// The SFU's keyframe requests, counted by layer; the readers end when
	// the peer connection closes.
	for layer, track := range tracks {
		go func() {
			buf := make([]byte, 1500)
			for {
				n, _, err := sender.ReadSimulcast(buf, track.RID())
				if err != nil {
					return
				}
				pkts, _ := rtcp.Unmarshal(buf[:n])
				for _, pkt := range pkts {
					if _, ok := pkt.(*rtcp.PictureLossIndication); ok {
						c.plis[layer].Add(1)
					}
				}
			}
		}()
	}
	sizes := []int{200, 600, 1100}
	// A simulcast sender writes the mid and RID header extensions itself.
	var midID, ridID uint8
	for _, ext := range sender.GetParameters().HeaderExtensions {
		switch ext.URI {
		case sdp.SDESMidURI:
			midID = uint8(ext.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(ext.ID)
		}
	}
	mid := func() string {
		for _, tr := range c.pc.GetTransceivers() {
			if tr.Sender() == sender {
				return tr.Mid()
			}
		}
		return ""
	}
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
			for layer, track := range tracks {
				p := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: uint16(i),
					Timestamp: uint32(i) * 3000}, Payload: make([]byte, sizes[layer])}
				key := (i+3*layer)%10 == 0
				p.Payload[0], p.Payload[1], p.Payload[2] = simulcastHeader(mime, key), 0x01, byte(layer)
				if key {
					p.Payload[1] = 0x00
				}
				if m := mid(); m != "" && midID != 0 && ridID != 0 {
					_ = p.Header.SetExtension(midID, []byte(m))
					_ = p.Header.SetExtension(ridID, []byte(track.RID()))
				}
				_ = track.WriteRTP(p)
			}
		}
	}()
}

// TestSimulcastLayers: a publisher sends three layers; a subscriber whose
// bandwidth estimate (REMB) is low receives the low layer; when its
// estimate rises it switches to the high layer on that layer's next
// keyframe, sequence numbers continuous; an explicit max-layer request
// caps it at the medium layer.
func TestSimulcastLayers(t *testing.T) { testSimulcastLayers(t, webrtc.MimeTypeVP8, "n1-simul") }

// TestSimulcastLayersVP9, …AV1 and …H265: the same with the other codecs
// whose keyframes the SFU recognises and pion negotiates.
func TestSimulcastLayersVP9(t *testing.T) { testSimulcastLayers(t, webrtc.MimeTypeVP9, "n1-simulvp9") }
func TestSimulcastLayersAV1(t *testing.T) { testSimulcastLayers(t, webrtc.MimeTypeAV1, "n1-simulav1") }
func TestSimulcastLayersH265(t *testing.T) {
	testSimulcastLayers(t, webrtc.MimeTypeH265, "n1-simulh265")
}

func testSimulcastLayers(t *testing.T, mime, call string) {
	srv, _ := bustest.Start(t)
	startNodeOn(t, srv)
	api := simulcastAPI(t)
	pub := newTestClientAPI(t, srv, api, call, "pub")
	pub.owner = "pub"
	pub.publishSimulcastCodec(mime)
	sub := newTestClientAPI(t, srv, api, call, "sub")

	type got struct {
		layer    byte
		key      bool
		seq      uint16
		switched bool // the first packet of a new layer
	}
	var mu sync.Mutex
	var packets []got
	sub.inspect = func(_ string, pkt []byte) {
		var p rtp.Packet
		if p.Unmarshal(pkt) != nil || len(p.Payload) < 3 {
			return
		}
		mu.Lock()
		g := got{layer: p.Payload[2], key: p.Payload[1]&1 == 0, seq: p.SequenceNumber}
		g.switched = len(packets) > 0 && packets[len(packets)-1].layer != g.layer
		packets = append(packets, g)
		mu.Unlock()
	}
	// The subscriber's REMB, every 50 ms, to the SSRC it receives.
	var estimate atomic.Uint64
	estimate.Store(100_000)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sub.stop:
				return
			case <-tick.C:
			}
			for _, tr := range sub.pc.GetTransceivers() {
				if r := tr.Receiver(); r != nil && r.Track() != nil && r.Track().SSRC() != 0 {
					_ = sub.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{
						Bitrate: float32(estimate.Load()), SSRCs: []uint32{uint32(r.Track().SSRC())}}})
				}
			}
		}
	}()
	if _, err := sub.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	sub.join()
	pub.join()

	// steady reports the layer of the last n packets, or -1 when they differ.
	steady := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		if len(packets) < n {
			return -1
		}
		last := packets[len(packets)-n:]
		for _, g := range last {
			if g.layer != last[0].layer {
				return -1
			}
		}
		return int(last[0].layer)
	}
	explain := func() string { return sub.describe() + " / " + pub.describe() }
	waitFor(t, 15*time.Second, "the low layer under a 100 kbit/s estimate", func() bool { return steady(60) == 0 }, explain)
	received := ""
	for _, tr := range sub.pc.GetTransceivers() {
		if r := tr.Receiver(); r != nil && r.Track() != nil && r.Track().Kind() == webrtc.RTPCodecTypeVideo {
			received = r.Track().Codec().MimeType
		}
	}
	if !strings.EqualFold(received, mime) {
		t.Errorf("the subscriber receives %q, want %s", received, mime)
	}
	// The SFU's section for the track asks for REMB, not transport-cc: a
	// browser then reports its estimate.
	sub.sig.Lock()
	offer := sub.pc.RemoteDescription().SDP
	sub.sig.Unlock()
	checked := 0
	for _, section := range strings.Split(offer, "m=")[1:] {
		if strings.Contains(section, "a=sendonly") || strings.Contains(section, "a=sendrecv") {
			checked++
			if !strings.Contains(section, "goog-remb") || strings.Contains(section, "transport-cc") {
				t.Errorf("the SFU's video section negotiates transport-cc or not goog-remb:\n%s", section)
			}
		}
	}
	if checked == 0 {
		t.Errorf("no sending section in the SFU's offer:\n%s", offer)
	}

	mu.Lock()
	if !packets[0].key {
		t.Errorf("the subscriber's first packet (layer %d) is not a keyframe", packets[0].layer)
	}
	from := len(packets)
	mu.Unlock()
	highPLIs := pub.plis[2].Load()
	estimate.Store(10_000_000)
	waitFor(t, 10*time.Second, "the high layer under a 10 Mbit/s estimate", func() bool { return steady(20) == 2 }, explain)
	mu.Lock()
	for i := from; i < len(packets); i++ {
		g := packets[i]
		if g.switched && !g.key {
			t.Errorf("switched to layer %d on a packet that is not a keyframe", g.layer)
		}
		if i > 0 && g.seq != packets[i-1].seq+1 {
			t.Errorf("sequence jumps from %d to %d at a switch to layer %d", packets[i-1].seq, g.seq, g.layer)
		}
	}
	mu.Unlock()
	// Switching up asks the publisher for a keyframe of the high layer.
	if pub.plis[2].Load() == highPLIs {
		t.Errorf("no PLI for the high layer when switching to it (%d before)", highPLIs)
	}
	if sub.event(wire.RoomLayer, "pub") == nil {
		t.Error("no layer event")
	}

	if _, err := sub.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomMaxLayer, To: "pub", Mid: "0", Limit: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the medium layer after max_layer 1", func() bool { return steady(20) == 1 }, explain)
	if _, err := sub.request(&wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomMaxLayer, To: "pub", Mid: "0", Limit: 3}); wireCode(err) != wire.CodeBadFrame {
		t.Errorf("max_layer 3: %v, want bad_frame", err)
	}
}
