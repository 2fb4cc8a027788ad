package loadgen

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// latencies records one latency distribution of a worker from many
// goroutines. Values go to one of a few shards (to spread lock
// contention); flush moves them into the total and returns what arrived
// since the previous flush, which feeds the run's time series.
type latencies struct {
	name   string // report key, e.g. "delivery_ms"
	shards []latencyShard

	mu       sync.Mutex // guards total and interval, and serialises flushes
	total    *hdr.Histogram
	interval *hdr.Histogram
}

type latencyShard struct {
	mu sync.Mutex
	h  *hdr.Histogram
}

func newLatencies(name string, shards int) *latencies {
	l := &latencies{name: name, shards: make([]latencyShard, shards), total: newHist(), interval: newHist()}
	for i := range l.shards {
		l.shards[i].h = newHist()
	}
	return l
}

// record adds d to the shard chosen by key (any int, e.g. a connection
// index).
func (l *latencies) record(key int, d time.Duration) {
	s := &l.shards[uint(key)%uint(len(l.shards))]
	s.mu.Lock()
	recordDuration(s.h, d)
	s.mu.Unlock()
}

// flush moves the shards' values into the total and merges them into
// into (when not nil): the values recorded since the previous flush.
func (l *latencies) flush(into *hdr.Histogram) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.interval.Reset()
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		if s.h.TotalCount() > 0 {
			l.interval.Merge(s.h)
			s.h.Reset()
		}
		s.mu.Unlock()
	}
	if l.interval.TotalCount() == 0 {
		return
	}
	l.total.Merge(l.interval)
	if into != nil {
		into.Merge(l.interval)
	}
}

// encodeTotal flushes and encodes everything recorded.
func (l *latencies) encodeTotal() (string, error) {
	l.flush(nil)
	l.mu.Lock()
	defer l.mu.Unlock()
	return encodeHist(l.total)
}
