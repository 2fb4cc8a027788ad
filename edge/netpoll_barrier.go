package edge

import (
	"sync"
	"syscall"
	"unsafe"

	_ "github.com/cloudwego/netpoll" // barrierPool below lives there
)

// netpoll v0.7.2 gives every connection, for its whole life, an output
// "barrier" of 32 iovecs and 32 slice headers (1.3 KiB) used only when it
// flushes its own output buffer. The edge writes with write(2) and uses
// netpoll's flush only for sockets that are full, where fewer iovecs per
// sendmsg cost nothing that matters; so the edge hands netpoll barriers of
// barrierEntries, cutting a third of an idle connection's memory
// (FINDINGS.md). TestNetpollBarrierShrunk fails loudly if a netpoll upgrade
// changes what this relies on.

//go:linkname netpollBarrierPool github.com/cloudwego/netpoll.barrierPool
var netpollBarrierPool sync.Pool

// netpollBarrier mirrors netpoll's unexported barrier (sys_exec.go).
type netpollBarrier struct {
	bs  [][]byte
	ivs []syscall.Iovec
}

const barrierEntries = 4

func shrinkNetpollBarriers() {
	newBarrier := netpollBarrierPool.New
	netpollBarrierPool.New = func() any {
		b := newBarrier()
		nb := (*netpollBarrier)((*[2]unsafe.Pointer)(unsafe.Pointer(&b))[1]) // the interface's data word
		nb.bs = make([][]byte, barrierEntries)
		nb.ivs = make([]syscall.Iovec, barrierEntries)
		return b
	}
}
