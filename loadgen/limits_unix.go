//go:build unix

package loadgen

import (
	"fmt"
	"syscall"
)

// fileReserve is what a worker needs beyond its connections: stdio,
// the runtime's poller, a few files.
const fileReserve = 64

// checkFileLimit refuses a run whose workers would run out of file
// descriptors. Workers inherit this process's limit; the Go runtime has
// already raised the soft limit to the hard one.
func checkFileLimit(opt *Options) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // unknown: let the run find out
	}
	per := (opt.Conns + opt.allWorkers() - 1) / opt.allWorkers()
	if opt.InProcess {
		per = opt.Conns + 1 // plus the publisher
	}
	if uint64(per+fileReserve) > lim.Cur {
		return fmt.Errorf("loadgen: %d connections per worker exceed the open-file limit %d; raise workers (or the limit)", per, lim.Cur)
	}
	return nil
}
