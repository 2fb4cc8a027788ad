package sqlite

import (
	"fmt"
	"strings"
	"time"
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Synchronous is SQLite's synchronous level under the write-ahead log,
	// "NORMAL" or "FULL" (case-insensitive). Empty means "NORMAL": every
	// committed Append survives a crash of the process (the commit is in
	// the log, in the OS page cache) but the last ones may be lost on power
	// loss or a kernel crash. "FULL" syncs the log at every commit, so a
	// commit also survives power loss, for the price of one fsync per
	// write transaction.
	Synchronous string
	// BusyTimeout is how long a statement waits for a lock held by another
	// process (or a checkpoint) before failing with SQLITE_BUSY. Within one
	// Store writers queue on a single connection and never see it. Zero
	// means 5s; negative is invalid.
	BusyTimeout time.Duration
}

const defaultBusyTimeout = 5 * time.Second

// EnsureDefaults fills the zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.Synchronous == "" {
		o.Synchronous = "NORMAL"
	}
	o.Synchronous = strings.ToUpper(o.Synchronous)
	if o.BusyTimeout == 0 {
		o.BusyTimeout = defaultBusyTimeout
	}
}

// Validate names the first invalid field.
func (o Options) Validate() error {
	switch strings.ToUpper(o.Synchronous) {
	case "", "NORMAL", "FULL":
	default:
		return fmt.Errorf("%w: synchronous %q: want NORMAL or FULL", ErrInvalidOptions, o.Synchronous)
	}
	if o.BusyTimeout < 0 {
		return fmt.Errorf("%w: busy_timeout %v is negative", ErrInvalidOptions, o.BusyTimeout)
	}
	return nil
}
