package edge

import (
	"testing"
	"unsafe"
)

func TestNetpollBarrierShrunk(t *testing.T) {
	initPools(&Config{Workers: 16, BufferSize: 256})
	b := netpollBarrierPool.Get()
	defer netpollBarrierPool.Put(b)
	nb := (*netpollBarrier)((*[2]unsafe.Pointer)(unsafe.Pointer(&b))[1])
	if len(nb.bs) != barrierEntries || len(nb.ivs) != barrierEntries {
		t.Fatalf("netpoll barrier has %d/%d entries, want %d: netpoll changed", len(nb.bs), len(nb.ivs), barrierEntries)
	}
}
