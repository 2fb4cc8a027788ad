package sfu

import (
	"encoding/binary"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/bus/bustest"
)

// BenchmarkRelayLatency measures what a link adds to a packet's trip: an
// Opus publisher on a leaf node sends b.N packets (one per millisecond,
// each carrying its send time), received by a subscriber on the same node
// and by one on the home node, over the link. Reported: the median and
// 99th percentile latency of each, in microseconds (all peers and both
// nodes in this process, over loopback).
//
//	go test -run '^$' -bench RelayLatency -benchtime=3000x ./sfu
func BenchmarkRelayLatency(b *testing.B) {
	b.ReportAllocs()
	srv, _ := bustest.Start(b)
	home := startNodeReg(b, srv, nil, Config{Loopback: true, NodeID: "benchhome"})
	leaf := startNodeReg(b, srv, nil, Config{Loopback: true, NodeID: "benchleaf"})
	const call = "n1-relaybench"
	pub := newTestClient(b, srv, call, "pub")
	pub.subject, pub.home = bus.SFUNodeSubject(leaf.ID()), home.ID()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "pub")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pub.pc.AddTrack(track); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	measuring := false
	subs := map[string]*testClient{"local": nil, "relayed": nil}
	for name := range subs {
		c := newTestClient(b, srv, call, "sub-"+name)
		c.subject = bus.SFUNodeSubject(home.ID())
		if name == "local" {
			c.subject, c.home = bus.SFUNodeSubject(leaf.ID()), home.ID()
		}
		c.inspect = func(_ string, pkt []byte) {
			now := time.Now()
			var p rtp.Packet
			if p.Unmarshal(pkt) != nil || len(p.Payload) < 8 {
				return
			}
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(p.Payload)))
			mu.Lock()
			if measuring {
				lat[name] = append(lat[name], now.Sub(sent))
			}
			mu.Unlock()
		}
		if _, err := c.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			b.Fatal(err)
		}
		c.join()
		subs[name] = c
	}
	pub.join()
	send := func(i int) {
		payload := make([]byte, 60)
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 48}, Payload: payload})
	}
	i := 0
	waitFor(b, 20*time.Second, "both subscribers receiving", func() bool {
		send(i)
		i++
		return subs["local"].packets("pub/0") > 10 && subs["relayed"].packets("pub/0") > 10
	})
	mu.Lock()
	measuring = true
	mu.Unlock()
	b.ResetTimer()
	tick := time.NewTicker(time.Millisecond)
	for n := 0; n < b.N; n++ {
		<-tick.C
		send(i)
		i++
	}
	tick.Stop()
	waitFor(b, 10*time.Second, "the last packets", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lat["local"]) >= b.N*99/100 && len(lat["relayed"]) >= b.N*99/100
	})
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	for _, name := range []string{"local", "relayed"} {
		l := lat[name]
		slices.Sort(l)
		b.ReportMetric(float64(l[len(l)/2].Microseconds()), name+"_p50_µs")
		b.ReportMetric(float64(l[len(l)*99/100].Microseconds()), name+"_p99_µs")
	}
}
