package loadgen

import (
	"fmt"
	"strings"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// series gathers the run's time series: the workers' latency deltas (and
// the broadcast publisher's acks) between two samples, and one Sample a
// second.
type series struct {
	mu      sync.Mutex     // guards everything below
	follow  *hdr.Histogram // the followed latency since the last sample
	ack     *hdr.Histogram // publish acks since the last sample
	all     *hdr.Histogram // the followed latency since the start (the status line's p99)
	samples []Sample
	bad     error // the first undecodable delta
}

func newSeries() *series {
	return &series{follow: newHist(), ack: newHist(), all: newHist()}
}

// addDeltas merges a progress line's deltas.
func (s *series) addDeltas(follow, ack string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range []struct {
		enc  string
		dsts []*hdr.Histogram
	}{{follow, []*hdr.Histogram{s.follow, s.all}}, {ack, []*hdr.Histogram{s.ack}}} {
		if d.enc == "" {
			continue
		}
		h, err := hdr.Decode([]byte(d.enc))
		if err != nil {
			if s.bad == nil {
				s.bad = fmt.Errorf("loadgen: latency delta from worker: %w", err)
			}
			continue
		}
		for _, dst := range d.dsts {
			dst.Merge(h)
		}
	}
}

// recordAck records one ack latency measured by the controller.
func (s *series) recordAck(d time.Duration) {
	s.mu.Lock()
	recordDuration(s.ack, d)
	s.mu.Unlock()
}

// sample closes the current second with the counters c and returns it
// with the followed latency's p99 so far.
func (s *series) sample(t time.Duration, c counters) (Sample, float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, a := quantilesOf(s.follow), quantilesOf(s.ack)
	sm := Sample{
		T: t.Seconds(), Connections: c.open(), ConnectErrors: c.Failed, Dropped: c.Dropped,
		Sent: c.Sent, Acked: c.Acked, PublishErrors: c.PubFailed, Received: c.Received, Presence: c.Presence,
		LatencyCount: f.Count, LatencyP50: f.P50, LatencyP99: f.P99, AckP99: a.P99,
	}
	s.follow.Reset()
	s.ack.Reset()
	s.samples = append(s.samples, sm)
	return sm, quantilesOf(s.all).P99
}

func (s *series) result() ([]Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.bad
}

// statusLine is the one-line live status for a sample.
func statusLine(sm Sample, requested int, latency string, p99 float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "conns %d/%d  err %d  drop %d", sm.Connections, requested, sm.ConnectErrors, sm.Dropped)
	if sm.Sent > 0 || sm.Received > 0 {
		fmt.Fprintf(&b, "  sent %d  acked %d  recv %d", sm.Sent, sm.Acked, sm.Received)
	}
	if sm.PublishErrors > 0 {
		fmt.Fprintf(&b, "  pub_err %d", sm.PublishErrors)
	}
	if sm.Presence > 0 {
		fmt.Fprintf(&b, "  presence %d", sm.Presence)
	}
	if p99 > 0 {
		fmt.Fprintf(&b, "  %s p99 %.1f ms", strings.TrimSuffix(latency, "_ms"), p99)
	}
	fmt.Fprintf(&b, "  %.0fs", sm.T)
	return b.String()
}
