package ingest

import (
	"hash/maphash"
	"sync"
	"time"
)

// viewerWindow: a viewer counts while it fetched a playlist this recently.
// Players reload the playlist every target duration (a few seconds at most).
const viewerWindow = 30 * time.Second

var viewerSeed = maphash.MakeSeed()

// viewers approximates a stream's audience from playlist fetches: distinct
// (client address, user agent) pairs seen in the last viewerWindow. Viewers
// behind one NAT with the same browser count once; a CDN in front counts as
// one per edge (its own count is the one to use then).
type viewers struct {
	mu   sync.Mutex
	seen map[uint64]time.Time // guarded by mu
}

func (v *viewers) touch(addr, userAgent string, now time.Time) {
	h := maphash.String(viewerSeed, addr+"\x00"+userAgent)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[uint64]time.Time{}
	}
	v.seen[h] = now
	if len(v.seen) > 1024 && len(v.seen)%1024 == 0 {
		v.expireLocked(now)
	}
}

func (v *viewers) count(now time.Time) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.expireLocked(now)
	return len(v.seen)
}

func (v *viewers) expireLocked(now time.Time) {
	for k, t := range v.seen {
		if now.Sub(t) > viewerWindow {
			delete(v.seen, k)
		}
	}
}
