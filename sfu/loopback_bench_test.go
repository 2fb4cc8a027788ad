package sfu

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/webrtc/v4"
	dto "github.com/prometheus/client_model/go"

	"github.com/salamhq/salam/internal/bus"
)

// The loopback benchmark runs the SFU node in a child process (this test
// binary, re-executed with benchNodeEnv set), so that its CPU time and
// resident memory, read from /proc, are the SFU's alone and not the test
// clients'.
const (
	benchNodeEnv      = "SALAM_SFU_BENCH_NATS"
	benchStatsSubject = "salam.bench.sfu.stats"
	benchUDPPortEnv   = "SALAM_SFU_BENCH_UDP_PORT" // the child's udp_port (mux and batched writes, their defaults)
	// benchDropEnv=1 (in a network namespace of its own:
	// sfu/scripts/bench-egress.sh) drops the SFU's media datagrams in the
	// loopback's queue once every subscriber receives, so the node's CPU
	// is its own work and its kernel's send path, without the subscribers'
	// receive path that loopback charges to the sender. Without udp_port
	// the node's peer connections then take ports 20480–20991, which the
	// drop matches.
	benchDropEnv = "SALAM_SFU_BENCH_DROP_EGRESS"
	// benchRateEnv sets the packets/s the k subscribers receive in total
	// (default 60,000: a node busy enough to read its capacity, which the
	// test process's receivers keep up with on two cores).
	benchRateEnv = "SALAM_SFU_BENCH_RATE"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(benchNodeEnv); url != "" {
		if err := runBenchNode(url); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runBenchNode serves an SFU node until its stdin closes, answering
// benchStatsSubject with its allocation count. With
// SALAM_SFU_BENCH_PROFILE=dir it writes the CPU profile of the measured
// window (sfu-window-cpu.pprof) and allocation profiles at its start and
// end (sfu-allocs-1.pprof, sfu-allocs-2.pprof: compare with -diff_base).
func runBenchNode(url string) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	cfg := Config{Loopback: true, NodeID: "bench", MaxParticipants: 1000}
	if p, err := strconv.ParseUint(os.Getenv(benchUDPPortEnv), 10, 16); err == nil {
		cfg.UDPPort = uint16(p)
	} else if os.Getenv(benchDropEnv) == "1" {
		cfg.UDPPortMin, cfg.UDPPortMax = dropPortBase, dropPortBase+^dropPortMask
	}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	n, err := New(cfg, nc, nil, nil)
	if err != nil {
		return err
	}
	profiles := 0
	if _, err := nc.Subscribe(benchStatsSubject, func(m *nats.Msg) {
		if dir := os.Getenv("SALAM_SFU_BENCH_PROFILE"); dir != "" {
			profiles++
			switch profiles { // the measured window only: between the first and second stats requests
			case 1:
				if f, err := os.Create(dir + "/sfu-window-cpu.pprof"); err == nil {
					_ = pprof.StartCPUProfile(f)
				}
			case 2:
				pprof.StopCPUProfile()
			}
			runtime.GC()
			if h, err := os.Create(fmt.Sprintf("%s/sfu-allocs-%d.pprof", dir, profiles)); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(h, 0)
				_ = h.Close()
			}
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var fwd dto.Metric
		_ = n.metrics.forwarded.Write(&fwd)
		_ = m.Respond(fmt.Appendf(nil, "%d %d", ms.Mallocs, uint64(fwd.GetCounter().GetValue())))
	}); err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		return err
	}
	if os.Getenv("SALAM_SFU_BENCH_PROFILE") != "" { // allocation profiles of the measured window
		runtime.MemProfileRate = 4096
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	n.Stop()
	return nil
}

// benchNode is the child process from the parent's side.
type benchNode struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	nc    *nats.Conn
}

func startBenchNode(b *testing.B, url string, nc *nats.Conn, udpPort int) *benchNode {
	b.Helper()
	announced, err := nc.SubscribeSync(bus.SFUAnnounceSubject)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = announced.Unsubscribe() }()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchNodeEnv+"="+url)
	if udpPort != 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", benchUDPPortEnv, udpPort))
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	bn := &benchNode{cmd: cmd, stdin: stdin, nc: nc}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	if _, err := announced.NextMsg(10 * time.Second); err != nil {
		b.Fatal("the SFU node did not announce itself: ", err)
	}
	return bn
}

// cpu returns the child's user+system CPU time.
func (bn *benchNode) cpu(b *testing.B) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", bn.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64) // fields 14 and 15 of proc(5), from field 3
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// rss returns the child's resident memory in bytes.
func (bn *benchNode) rss(b *testing.B) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", bn.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

// stats returns the child's allocations so far and the packets its
// forwarding loops have counted as forwarded (they add their counts once a
// second, at a packet's arrival).
func (bn *benchNode) stats(b *testing.B) (mallocs, forwarded int64) {
	m, err := bn.nc.Request(benchStatsSubject, nil, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := fmt.Sscan(string(m.Data), &mallocs, &forwarded); err != nil {
		b.Fatal(err)
	}
	return mallocs, forwarded
}

// benchLoopback: one publisher sends a VP8 stream (1,100-byte packets, a
// keyframe every 30) through the SFU to k subscribers, every peer a real
// pion PeerConnection over loopback. One op is one published packet; the
// publisher is paced so that k subscribers receive benchRateEnv packets/s
// in total (udp_drops counts the datagrams the kernel dropped for full
// receive buffers meanwhile, on either side). With mux the node serves every peer on one UDP port with
// batched writes (udp_port and the batch_write_* defaults).
func benchLoopback(b *testing.B, k int, mux bool) {
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := bus.Connect(bus.Config{}, srv, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	udpPort := 0
	if mux {
		udpPort = freeUDPPort(b)
	}
	node := startBenchNode(b, srv.ClientURL(), nc, udpPort)

	const call = "n1-bench"
	subs := make([]*testClient, k)
	for i := range subs {
		c := newTestClient(b, srv, call, fmt.Sprintf("s%d", i))
		if _, err := c.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			b.Fatal(err)
		}
		c.join()
		subs[i] = c
	}
	pub := newTestClient(b, srv, call, "pub")
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", "pub")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pub.pc.AddTrack(track); err != nil {
		b.Fatal(err)
	}
	pub.join()

	total := 60000
	if v, err := strconv.Atoi(os.Getenv(benchRateEnv)); err == nil && v >= k {
		total = v
	}
	rate := total / k
	interval := time.Second / time.Duration(rate)
	payload := make([]byte, 1100)
	seq := 0
	send := func() {
		p := syntheticPacket(webrtc.RTPCodecTypeVideo, seq)
		copy(payload, p.Payload)
		p.Payload = payload
		_ = track.WriteRTP(p)
		seq++
	}
	received := func() int64 {
		var n int64
		for _, c := range subs {
			n += c.packets("pub/0")
		}
		return n
	}
	waitFor(b, 60*time.Second, "every subscriber to receive the publisher", func() bool {
		send()
		time.Sleep(interval)
		for _, c := range subs {
			if c.packets("pub/0") == 0 {
				return false
			}
		}
		return true
	}, subs[0].describe)
	drop := os.Getenv(benchDropEnv) == "1"
	if drop {
		if mux {
			dropEgress(b, uint16(udpPort), 0xffff)
		} else {
			dropEgress(b, dropPortBase, dropPortMask)
		}
	}
	// counted returns the node's forwarded count once every packet sent so
	// far is in it: after a second without packets, one more makes the
	// forwarding loop add its counts (that packet's own fan-out comes later).
	counted := func() (mallocs, forwarded int64) {
		time.Sleep(1100 * time.Millisecond)
		send()
		time.Sleep(100 * time.Millisecond)
		return node.stats(b)
	}

	mallocs0, fwd0 := counted()
	cpu0, recv0, drops0 := node.cpu(b), received(), udpRcvbufErrors(b)
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		send()
	}
	b.StopTimer()
	// Packets in flight: until the subscribers' count stops growing (in
	// drop mode it never grows), so that the window is the sending time.
	for n, i := received(), 0; i < 20; i++ {
		time.Sleep(10 * time.Millisecond)
		if m := received(); m == n {
			break
		} else {
			n = m
		}
	}
	elapsed := time.Since(start)
	cpu, recv := node.cpu(b)-cpu0, received()-recv0
	mallocs, _ := node.stats(b)
	mallocs -= mallocs0
	_, fwd1 := counted()
	forwarded := fwd1 - fwd0 - int64(k)
	if cpu <= 0 {
		cpu = 10 * time.Millisecond
	}
	delivered := recv // end to end: what the subscribers received
	if drop {
		delivered = forwarded // dropped after the node's send path
	}
	b.ReportMetric(float64(delivered)/elapsed.Seconds(), "fwd_pkts/s")
	b.ReportMetric(float64(delivered)/cpu.Seconds(), "fwd_pkts/s/core")
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "sfu_cpu_%")
	b.ReportMetric(float64(k)*elapsed.Seconds()/cpu.Seconds(), "subs/core")
	b.ReportMetric(node.rss(b)/(1<<20), "sfu_rss_MiB")
	b.ReportMetric(float64(mallocs)/float64(max(delivered, 1)), "sfu_allocs/fwd_pkt")
	b.ReportMetric(100*(1-float64(forwarded)/float64(b.N*k)), "sfu_loss_%") // not forwarded by the node
	if !drop {
		b.ReportMetric(100*(1-float64(recv)/float64(b.N*k)), "loss_%")
	}
	b.ReportMetric(float64(udpRcvbufErrors(b)-drops0), "udp_drops")
}

// The node's ports without udp_port under benchDropEnv: 20480–20991, below
// the ephemeral range the test clients take theirs from.
const dropPortBase, dropPortMask uint16 = 0x5000, 0xfe00

// dropEgress makes the loopback drop the node's media datagrams (UDP from
// a port p with p&mask == port, 1,024–2,047 bytes: RTP of the benchmark's
// 1,100-byte payloads, not STUN or RTCP) when they are queued, silently
// (the sender's sendmsg succeeds, as it does when a NIC's queue takes the
// datagram): a tc htb class whose queue holds nothing. It refuses to run
// where there is any interface but lo, i.e. outside a network namespace
// made for it, which takes the queue away when it ends.
func dropEgress(b *testing.B, port, mask uint16) {
	ifaces, err := net.Interfaces()
	if err != nil || len(ifaces) != 1 || ifaces[0].Flags&net.FlagLoopback == 0 {
		b.Fatal(benchDropEnv + " runs only in a network namespace of its own: use sfu/scripts/bench-egress.sh")
	}
	b.Cleanup(func() { _ = exec.Command("tc", "qdisc", "del", "dev", "lo", "root").Run() })
	for _, args := range [][]string{
		{"qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "100gbit"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", "100gbit"},
		{"qdisc", "add", "dev", "lo", "parent", "1:20", "pfifo", "limit", "0"},
		{"filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
			"match", "ip", "protocol", "17", "0xff", "match", "ip", "sport", strconv.Itoa(int(port)), fmt.Sprintf("%#x", mask),
			"match", "u16", "0x0400", "0xfc00", "at", "2", "flowid", "1:20"},
	} {
		if out, err := exec.Command("tc", args...).CombinedOutput(); err != nil {
			b.Fatalf("tc %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

// BenchmarkLoopback: one publisher → K subscribers through the SFU over
// loopback. Run with -benchtime=3000x (see sfu/README.md).
func BenchmarkLoopback10(b *testing.B)  { benchLoopback(b, 10, false) }
func BenchmarkLoopback50(b *testing.B)  { benchLoopback(b, 50, false) }
func BenchmarkLoopback200(b *testing.B) { benchLoopback(b, 200, false) }

// BenchmarkLoopbackMux: the same over the node's one UDP port (udp_port)
// with batched writes (batch_write_size 64, batch_write_interval 1ms).
func BenchmarkLoopbackMux10(b *testing.B)  { benchLoopback(b, 10, true) }
func BenchmarkLoopbackMux50(b *testing.B)  { benchLoopback(b, 50, true) }
func BenchmarkLoopbackMux200(b *testing.B) { benchLoopback(b, 200, true) }

// freeUDPPort returns a UDP port of 127.0.0.1 that was free a moment ago.
func freeUDPPort(tb testing.TB) int {
	tb.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// udpRcvbufErrors is the host's count of UDP datagrams dropped because a
// socket's receive buffer was full (/proc/net/snmp).
func udpRcvbufErrors(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(fields) {
				n, _ := strconv.ParseInt(fields[i], 10, 64)
				return n
			}
		}
	}
	return 0
}
