package ingest

import (
	"sort"
	"time"
)

// latencies tracks when each segment or part was first seen listed. For
// each it records the latency of every frame in it (frames every
// frameInterval from its start): a frame is playable once the segment or
// part holding it is listed, so the first frame of a segment waits the
// longest.
type latencies struct {
	seen map[string]bool
	d    []time.Duration // per frame
	item []time.Duration // per segment or part, from its end
}

const frameInterval = time.Second / 30

// observe records the items first listed at time at. With LL-HLS (parts
// listed) a frame is playable once its part is listed, so the complete
// segments, listed later, are not counted.
func (l *latencies) observe(items []listed, at time.Time, skipFirst bool) {
	parts := false
	for _, it := range items {
		parts = parts || it.part
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
		if skipFirst { // already listed when we first looked: no measure
			for _, it := range items {
				l.seen[it.uri] = true
			}
			return
		}
	}
	for _, it := range items {
		if !l.seen[it.uri] && it.part == parts {
			l.seen[it.uri] = true
			l.item = append(l.item, at.Sub(it.end))
			for f := it.start; f.Before(it.end); f = f.Add(frameInterval) {
				l.d = append(l.d, at.Sub(f))
			}
		}
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	d := append([]time.Duration(nil), ds...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(p * float64(len(d)-1))
	return d[i]
}
