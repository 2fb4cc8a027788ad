package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/edge"
	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/storage/sqlite"
	"github.com/salamhq/salam/wire"
)

var relayRate = flag.Int("relay-rate", 10000, "BenchmarkSignalRelay: signals per second over all calls (open loop)")

// BenchmarkSignalRelay measures signaling relay latency with 1,000 calls
// in progress: 2,000 WebSocket connections on an edge, the calls service and
// NATS in this process (each with its own NATS connection, as separate
// processes would have). Each call's caller trickles ICE candidates to its
// callee at relay-rate/1000 per second, b.N in all. Reported:
// server-p50/p99 — the edge's salam_edge_signal_relay_seconds (the sender's
// frame read by the edge → the relayed frame written to the callee's
// socket; interpolated within the histogram's buckets), and e2e-p50/p99 —
// client send → client receive on loopback (exact, HdrHistogram).
//
//	go test -run '^$' -bench SignalRelay -benchtime 100000x ./cmd/salam
func BenchmarkSignalRelay(b *testing.B) { benchSignalRelay(b, 1000) }

func benchSignalRelay(b *testing.B, nCalls int) {
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Shutdown()
	coreNC, _ := bus.Connect(bus.Config{}, ns, nil)
	edgeNC, _ := bus.Connect(bus.Config{}, ns, nil)
	defer coreNC.Close()
	defer edgeNC.Close()
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	for i := range nCalls {
		ch := fmt.Sprintf("c%d", i)
		if _, err := store.CreateChannel(ctx, chat.Channel{ID: ch, Kind: chat.KindGroup, Name: ch, MemberCap: 2,
			CreatedBy: "a" + ch, CreatedAt: time.Now()}, "a"+ch); err != nil {
			b.Fatal(err)
		}
		if _, err := store.PutMember(ctx, ch, "b"+ch, chat.RoleMember); err != nil {
			b.Fatal(err)
		}
	}
	svc, err := calls.NewService(coreNC, store, store, calls.Config{CandidateRate: 1e6, CandidateBurst: 1 << 20}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		b.Fatal(err)
	}
	defer svc.Stop()
	secret := "bench-secret-bench-secret-bench-secret"
	verifier, _ := auth.NewVerifier(auth.Config{Secret: secret})
	reg := prometheus.NewRegistry()
	srv, err := edge.New(edge.Options{Config: edge.Config{Listen: "127.0.0.1:0", IPUpgradeBurst: 1 << 20, IPUpgradeRate: 1e6,
		FrameRate: 1e6, FrameBurst: 1 << 20}, Verifier: verifier, NATS: edgeNC, Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()

	type pair struct {
		a, b *wsclient.Conn
		call string
		to   string // the callee
		seq  uint64
	}
	lat := hdr.New(1, int64(10*time.Second/time.Microsecond), 3)
	var latMu sync.Mutex
	dial := func(user string, handle func(*wire.Frame)) *wsclient.Conn {
		tok, _ := auth.MintHS256(secret, user, time.Hour, "", "")
		c, err := wsclient.Dial(ctx, "ws://"+srv.Addr().String()+"/v1/ws", wsclient.Options{Token: tok})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Connect(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		go c.Dispatch(handle)
		return c
	}
	request := func(c *wsclient.Conn, f *wire.Frame) *wire.Frame {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		r, err := c.Request(rctx, f)
		if err != nil {
			b.Fatalf("%+v: %v", f, err)
		}
		return r
	}
	var received sync.WaitGroup
	pairs := make([]*pair, nCalls)
	for i := range pairs {
		ch := fmt.Sprintf("c%d", i)
		p := &pair{to: "b" + ch}
		p.a = dial("a"+ch, nil)
		p.b = dial("b"+ch, func(f *wire.Frame) {
			if f.Type != wire.TypeCandidate {
				return
			}
			var at int64
			fmt.Sscan(f.Mid, &at)
			latMu.Lock()
			lat.RecordValue(max(1, (time.Now().UnixNano()-at)/1000))
			latMu.Unlock()
			received.Done()
		})
		p.call = request(p.a, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallCreate, Channel: ch}).CallID
		request(p.b, &wire.Frame{Type: wire.TypeCall, Kind: wire.CallAccept, CallID: p.call})
		request(p.b, &wire.Frame{Type: wire.TypeOffer, CallID: p.call, To: "a" + ch, Seq: 1, Data: []byte(benchSDP)})
		request(p.a, &wire.Frame{Type: wire.TypeAnswer, CallID: p.call, To: "b" + ch, Seq: 1, Data: []byte(benchSDP)})
		p.seq = 1
		pairs[i] = p
	}
	candidate := []byte("candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host")
	interval := time.Duration(float64(time.Second) * float64(nCalls) / float64(*relayRate))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	received.Add(b.N)
	var senders sync.WaitGroup
	for i, p := range pairs {
		n := b.N / nCalls
		if i < b.N%nCalls {
			n++
		}
		senders.Add(1)
		go func() {
			defer senders.Done()
			time.Sleep(time.Duration(i) * interval / time.Duration(nCalls)) // spread the calls over one interval
			next := time.Now()
			for range n {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(interval)
				p.seq++
				// The send time rides in mid (the server relays it untouched).
				p.a.Send(&wire.Frame{Type: wire.TypeCandidate, CallID: p.call, To: p.to, Seq: p.seq,
					Data: candidate, Mid: fmt.Sprint(time.Now().UnixNano())})
			}
		}()
	}
	senders.Wait()
	done := make(chan struct{})
	go func() { received.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatal("signals lost")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	sp50, sp99 := histogramQuantiles(b, reg, "salam_edge_signal_relay_seconds")
	b.ReportMetric(sp50, "server-p50-µs")
	b.ReportMetric(sp99, "server-p99-µs")
	b.ReportMetric(float64(lat.ValueAtQuantile(50)), "e2e-p50-µs")
	b.ReportMetric(float64(lat.ValueAtQuantile(99)), "e2e-p99-µs")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "signals/s")
}

var benchSDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\na=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\n"

// histogramQuantiles returns the p50 and p99 of a histogram of seconds in
// reg, in microseconds, interpolated linearly within buckets as
// Prometheus' histogram_quantile does.
func histogramQuantiles(b *testing.B, reg *prometheus.Registry, name string) (p50, p99 float64) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var h *dto.Histogram
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) > 0 {
			h = mf.Metric[0].GetHistogram()
		}
	}
	if h == nil || h.GetSampleCount() == 0 {
		return math.NaN(), math.NaN()
	}
	q := func(p float64) float64 {
		rank := p * float64(h.GetSampleCount())
		prevBound, prevCount := 0.0, 0.0
		for _, bk := range h.Bucket {
			c := float64(bk.GetCumulativeCount())
			if c >= rank {
				return 1e6 * (prevBound + (bk.GetUpperBound()-prevBound)*(rank-prevCount)/max(c-prevCount, 1))
			}
			prevBound, prevCount = bk.GetUpperBound(), c
		}
		return 1e6 * prevBound
	}
	return q(0.5), q(0.99)
}
