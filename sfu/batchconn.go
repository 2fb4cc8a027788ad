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
// gathered into sendmmsg calls: a batch is sent when it is full, when a
// forwarding loop has written a packet to all its down-tracks (flush), or
// at the latest interval after its first datagram (RTCP, STUN, NACK
// answers). It replaces pion's udp.BatchConn, which abandons the rest of a
// batch when one datagram is refused (a firewall's EPERM, an unreachable
// network) and delays every batch by up to its interval.
//
// Reads go to the socket unchanged. It implements pion's
// ice.AddrPortReaderWriter, so the ICE mux reads and writes with
// netip.AddrPort and allocates no address per datagram. mu is held while a
// batch is sent: the writers wait for the socket, as they would for one
// sendto each.
type batchConn struct {
	*net.UDPConn
	pc       *ipv4.PacketConn // sendmmsg: destinations of either family (the x/net encoding is per address)
	interval time.Duration
	refused  atomic.Uint64 // datagrams the kernel refused

	mu    sync.Mutex
	msgs  []ipv4.Message // the batch: msgs[:n] are pending; each owns its buffer
	addrs []slotAddr     // msgs[i].Addr of a WriteToAddrPort
	n     int
	timer *time.Timer // armed while msgs[:n] is not empty
}

// slotAddr is a batch slot's own destination, reused from datagram to
// datagram.
type slotAddr struct {
	udp net.UDPAddr
	ip  [16]byte
}

func newBatchConn(conn *net.UDPConn, size int, interval time.Duration) *batchConn {
	c := &batchConn{UDPConn: conn, pc: ipv4.NewPacketConn(conn), interval: interval,
		msgs: make([]ipv4.Message, size), addrs: make([]slotAddr, size)}
	for i := range c.msgs {
		c.msgs[i].Buffers = [][]byte{make([]byte, 0, 1500)}
	}
	c.timer = time.AfterFunc(time.Hour, c.flush)
	c.timer.Stop()
	return c
}

// WriteTo copies b into the batch; the caller may reuse b at once. Errors
// of the send are counted (refused), not returned: the datagram is gone
// by then, like one a NIC's queue drops.
func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	c.msgs[c.n].Addr = addr
	c.enqueueLocked(b)
	c.mu.Unlock()
	return len(b), nil
}

// WriteToAddrPort is WriteTo to addr, without allocating.
func (c *batchConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	c.mu.Lock()
	a := &c.addrs[c.n]
	if ip := addr.Addr(); ip.Is4() {
		*(*[4]byte)(a.ip[:4]) = ip.As4()
		a.udp.IP = a.ip[:4]
	} else {
		a.ip = ip.As16()
		a.udp.IP = a.ip[:]
	}
	a.udp.Port, a.udp.Zone = int(addr.Port()), addr.Addr().Zone()
	c.msgs[c.n].Addr = &a.udp
	c.enqueueLocked(b)
	c.mu.Unlock()
	return len(b), nil
}

// ReadFromAddrPort reads one datagram from the socket.
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(b)
}

// enqueueLocked adds b to the batch whose next slot has its address, and
// sends the batch when it is full.
func (c *batchConn) enqueueLocked(b []byte) {
	m := &c.msgs[c.n]
	m.Buffers[0] = append(m.Buffers[0][:0], b...)
	c.n++
	switch {
	case c.n == len(c.msgs):
		c.sendLocked()
	case c.n == 1:
		c.timer.Reset(c.interval)
	}
}

// flush sends the pending datagrams.
func (c *batchConn) flush() {
	c.mu.Lock()
	if c.n > 0 {
		c.sendLocked()
	}
	c.mu.Unlock()
}

// sendLocked sends msgs[:n] in as few sendmmsg calls as the kernel takes,
// skipping a datagram it refuses instead of the rest of the batch.
func (c *batchConn) sendLocked() {
	for i := 0; i < c.n; {
		sent, err := c.pc.WriteBatch(c.msgs[i:c.n], 0)
		if err != nil || sent == 0 { // msgs[i] was refused
			c.refused.Add(1)
			sent = 1
		}
		i += sent
	}
	for i := range c.msgs[:c.n] {
		c.msgs[i].Addr = nil
	}
	c.n = 0
	c.timer.Stop()
}

// Close sends what is pending and closes the socket.
func (c *batchConn) Close() error {
	c.flush()
	c.timer.Stop()
	return c.UDPConn.Close()
}
