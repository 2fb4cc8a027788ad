package edge

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/salamhq/salam/internal/bus"
)

// liveReporter tells core/live, every beat, how many local subscribers each
// live room channel (bus.LiveChannelPrefix) has on this edge: the WebSocket
// part of a live stream's viewer count. An edge with no live room
// subscribers sends nothing after one empty report. Its goroutine is owned
// by the Server and stopped by close.
type liveReporter struct {
	hub  *hub
	nc   *nats.Conn
	edge string
	beat time.Duration
	stop chan struct{}
	done sync.WaitGroup
}

func newLiveReporter(h *hub, nc *nats.Conn, beat time.Duration) *liveReporter {
	l := &liveReporter{hub: h, nc: nc, edge: nuid.Next(), beat: beat, stop: make(chan struct{})}
	l.done.Add(1)
	go l.run()
	return l
}

func (l *liveReporter) run() {
	defer l.done.Done()
	t := time.NewTicker(l.beat)
	defer t.Stop()
	sentEmpty := true
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		counts := l.hub.liveCounts()
		if len(counts) == 0 && sentEmpty {
			continue
		}
		sentEmpty = len(counts) == 0
		data, _ := json.Marshal(bus.LiveSubs{Edge: l.edge, TTL: 3 * l.beat.Milliseconds(), Counts: counts})
		l.nc.Publish(bus.LiveSubsSubject, data)
	}
}

func (l *liveReporter) close() {
	close(l.stop)
	l.done.Wait()
}

// liveCounts returns stream → local subscribers of its live room channel.
func (h *hub) liveCounts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out map[string]int
	for name, lc := range h.channels {
		if stream, ok := strings.CutPrefix(name, bus.LiveChannelPrefix); ok {
			if out == nil {
				out = map[string]int{}
			}
			out[stream] = len(lc.members)
		}
	}
	return out
}
