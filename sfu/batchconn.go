package sfu

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// batchConn is the node's one UDP socket (udp_port) with its writes
// gathered into sendmmsg calls: a batch is sent when it is full, or
// interval after its first datagram. It replaces pion's udp.BatchConn,
// which abandons the rest of a batch when the kernel refuses one datagram
// (a firewall's EPERM, an unreachable network): here that datagram is
// skipped and counted, and the others leave.
//
// Two batches take turns: writers fill one while the other is being sent,
// so a writer waits only when its batch fills during a send. Reads go to
// the socket unchanged. It implements pion's ice.AddrPortReaderWriter, so
// the ICE mux reads and writes with netip.AddrPort and no address is
// allocated per datagram.
type batchConn struct {
	*net.UDPConn
	pc       *ipv4.PacketConn // sendmmsg: destinations of either family (x/net encodes each address)
	interval time.Duration
	refused  atomic.Uint64 // datagrams the kernel refused

	mu      sync.Mutex // guards filling, and the timer
	filling *batch
	timer   *time.Timer // armed while filling is not empty

	sendMu  sync.Mutex // one send at a time; guards sending
	sending *batch
}

// batch is one sendmmsg's datagrams: msgs[:n], each slot with its own
// buffer and address, reused.
type batch struct {
	msgs  []ipv4.Message
	addrs []slotAddr
	n     int
}

// slotAddr is a slot's destination for WriteToAddrPort.
type slotAddr struct {
	udp net.UDPAddr
	ip  [16]byte
}

func newBatch(size int) *batch {
	b := &batch{msgs: make([]ipv4.Message, size), addrs: make([]slotAddr, size)}
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{make([]byte, 0, 1500)}
	}
	return b
}

func newBatchConn(conn *net.UDPConn, size int, interval time.Duration) *batchConn {
	c := &batchConn{UDPConn: conn, pc: ipv4.NewPacketConn(conn), interval: interval,
		filling: newBatch(size), sending: newBatch(size)}
	c.timer = time.AfterFunc(time.Hour, c.flush)
	c.timer.Stop()
	return c
}

// WriteTo copies p into the batch; the caller may reuse p at once. Errors
// of the send are counted (refused), not returned: the datagram is gone
// by then, as one a NIC's full queue drops.
func (c *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.enqueue(p, func(m *ipv4.Message, _ *slotAddr) { m.Addr = addr })
	return len(p), nil
}

// WriteToAddrPort is WriteTo to addr, without allocating.
func (c *batchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	c.enqueue(p, func(m *ipv4.Message, a *slotAddr) {
		if ip := addr.Addr(); ip.Is4() {
			*(*[4]byte)(a.ip[:4]) = ip.As4()
			a.udp.IP = a.ip[:4]
		} else {
			a.ip = ip.As16()
			a.udp.IP = a.ip[:]
		}
		a.udp.Port, a.udp.Zone = int(addr.Port()), addr.Addr().Zone()
		m.Addr = &a.udp
	})
	return len(p), nil
}

// ReadFromAddrPort reads one datagram from the socket.
func (c *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(p)
}

// enqueue copies p into the filling batch's next slot, addressed by
// address; the writer that fills the batch sends it, and a writer that
// finds it full (its sender waits for the other batch's send) waits too.
func (c *batchConn) enqueue(p []byte, address func(*ipv4.Message, *slotAddr)) {
	c.mu.Lock()
	for c.filling.n == len(c.filling.msgs) {
		c.mu.Unlock()
		c.flush()
		c.mu.Lock()
	}
	b := c.filling
	m := &b.msgs[b.n]
	m.Buffers[0] = append(m.Buffers[0][:0], p...)
	address(m, &b.addrs[b.n])
	b.n++
	full := b.n == len(b.msgs)
	if b.n == 1 {
		c.timer.Reset(c.interval)
	}
	c.mu.Unlock()
	if full {
		c.flush()
	}
}

// flush sends the filling batch, if it holds anything, and makes the other
// batch (sent before, since sendMu is held) the one to fill.
func (c *batchConn) flush() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	b := c.filling
	if b.n == 0 {
		c.mu.Unlock()
		return
	}
	c.filling, c.sending = c.sending, b
	c.timer.Stop()
	c.mu.Unlock()
	for i := 0; i < b.n; {
		sent, err := c.pc.WriteBatch(b.msgs[i:b.n], 0)
		if err != nil || sent == 0 { // msgs[i] was refused
			c.refused.Add(1)
			sent = 1
		}
		i += sent
	}
	for i := range b.msgs[:b.n] {
		b.msgs[i].Addr = nil
	}
	b.n = 0
}

// Close sends what is pending and closes the socket.
func (c *batchConn) Close() error {
	c.flush()
	c.timer.Stop()
	return c.UDPConn.Close()
}
