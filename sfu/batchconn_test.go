package sfu

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

func listenLoopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// receive returns the next datagram on c, or "" after wait.
func receive(t *testing.T, c *net.UDPConn, wait time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	b := make([]byte, 1500)
	n, err := c.Read(b)
	if err != nil {
		return ""
	}
	return string(b[:n])
}

// A datagram the kernel refuses (port 0: EINVAL) is skipped and counted;
// the batch's other datagrams still leave (pion's udp.BatchConn drops them).
func TestBatchConnSkipsRefusedDatagram(t *testing.T) {
	a, b := listenLoopbackUDP(t), listenLoopbackUDP(t)
	c := newBatchConn(listenLoopbackUDP(t), 8, time.Hour)
	defer c.Close()
	_, _ = c.WriteTo([]byte("one"), a.LocalAddr())
	_, _ = c.WriteTo([]byte("refused"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0})
	_, _ = c.WriteToAddrPort([]byte("two"), b.LocalAddr().(*net.UDPAddr).AddrPort())
	if got := receive(t, a, 50*time.Millisecond); got != "" {
		t.Fatalf("sent %q before the batch was flushed", got)
	}
	c.flush()
	if got := receive(t, a, time.Second); got != "one" {
		t.Errorf("first destination got %q", got)
	}
	if got := receive(t, b, time.Second); got != "two" {
		t.Errorf("the datagram after the refused one: got %q", got)
	}
	if n := c.refused.Load(); n != 1 {
		t.Errorf("refused = %d, want 1", n)
	}
}

// A full batch leaves at once; a partial one after the interval; the
// caller's buffer is copied.
func TestBatchConnSendsFullBatchesAndAfterInterval(t *testing.T) {
	a := listenLoopbackUDP(t)
	to := a.LocalAddr().(*net.UDPAddr).AddrPort()
	c := newBatchConn(listenLoopbackUDP(t), 2, 20*time.Millisecond)
	defer c.Close()
	buf := []byte("p1")
	_, _ = c.WriteToAddrPort(buf, to)
	copy(buf, "xx")
	_, _ = c.WriteToAddrPort([]byte("p2"), to)
	for _, want := range []string{"p1", "p2"} {
		if got := receive(t, a, time.Second); got != want {
			t.Fatalf("full batch: got %q, want %q", got, want)
		}
	}
	start := time.Now()
	_, _ = c.WriteTo([]byte("p3"), a.LocalAddr())
	if got := receive(t, a, time.Second); got != "p3" {
		t.Fatalf("partial batch: got %q after %v", got, time.Since(start))
	}
}

func TestBatchConnWriteAllocatesNothing(t *testing.T) {
	a := listenLoopbackUDP(t)
	to := a.LocalAddr().(*net.UDPAddr).AddrPort()
	c := newBatchConn(listenLoopbackUDP(t), 64, time.Hour)
	defer c.Close()
	payload := make([]byte, 1100)
	if n := testing.AllocsPerRun(62, func() { _, _ = c.WriteToAddrPort(payload, to) }); n != 0 {
		t.Errorf("WriteToAddrPort: %.1f allocations per datagram", n)
	}
}

// Writers racing each other and the sends lose and repeat nothing.
func TestBatchConnConcurrentWriters(t *testing.T) {
	const writers, each = 8, 200
	a := listenLoopbackUDP(t)
	_ = a.SetReadBuffer(4 << 20)
	to := a.LocalAddr().(*net.UDPAddr).AddrPort()
	c := newBatchConn(listenLoopbackUDP(t), 4, time.Millisecond)
	defer c.Close()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				_, _ = c.WriteToAddrPort(fmt.Appendf(nil, "%d/%d", w, i), to)
			}
		})
	}
	seen := make(map[string]bool)
	for len(seen) < writers*each {
		got := receive(t, a, 2*time.Second)
		if got == "" {
			t.Fatalf("received %d of %d datagrams", len(seen), writers*each)
		}
		if seen[got] {
			t.Fatalf("%q received twice", got)
		}
		seen[got] = true
	}
	wg.Wait()
}
