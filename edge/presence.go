package edge

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/salamhq/salam/internal/bus"
)

// presenceReporter tells core which users hold connections on this edge:
// changes (a user's first connection opened, or last one closed) within
// presenceFlush, and the full list every beat, which keeps their presence
// alive for 3 beats. Its cost grows with users and beats, never with
// connections × heartbeats.
type presenceReporter struct {
	nc   *nats.Conn
	edge string
	beat time.Duration
	stop chan struct{}
	done sync.WaitGroup

	mu      sync.Mutex
	conns   map[string]int      // user → connected connections on this edge
	changed map[string]struct{} // users whose count crossed zero since the last report
}

// presenceFlush bounds how late core hears of a connect or disconnect.
const presenceFlush = 250 * time.Millisecond

func newPresenceReporter(nc *nats.Conn, beat time.Duration) *presenceReporter {
	p := &presenceReporter{nc: nc, edge: nuid.Next(), beat: beat, stop: make(chan struct{}),
		conns: make(map[string]int), changed: make(map[string]struct{})}
	p.done.Add(1)
	go p.run()
	return p
}

func (p *presenceReporter) join(user string) {
	p.mu.Lock()
	if p.conns[user]++; p.conns[user] == 1 {
		p.changed[user] = struct{}{}
	}
	p.mu.Unlock()
}

func (p *presenceReporter) leave(user string) {
	p.mu.Lock()
	if p.conns[user]--; p.conns[user] <= 0 {
		delete(p.conns, user)
		p.changed[user] = struct{}{}
	}
	p.mu.Unlock()
}

func (p *presenceReporter) run() {
	defer p.done.Done()
	flush := time.NewTicker(presenceFlush)
	defer flush.Stop()
	beat := time.NewTicker(p.beat)
	defer beat.Stop()
	for {
		select {
		case <-p.stop:
			p.report(true)
			return
		case <-flush.C:
			p.report(false)
		case <-beat.C:
			p.beatAll()
		}
	}
}

// report sends the changes since the last report; final reports every
// user as gone (the edge is shutting down).
func (p *presenceReporter) report(final bool) {
	r := bus.PresenceReport{Edge: p.edge, TTL: (3 * p.beat).Milliseconds()}
	p.mu.Lock()
	for u := range p.changed {
		if p.conns[u] > 0 && !final {
			r.Joined = append(r.Joined, u)
		} else {
			r.Left = append(r.Left, u)
		}
	}
	clear(p.changed)
	if final {
		for u := range p.conns {
			r.Left = append(r.Left, u)
		}
		clear(p.conns)
	}
	p.mu.Unlock()
	if len(r.Joined)+len(r.Left) > 0 {
		p.nc.Publish(bus.PresenceSubject, r.AppendMsgpack(nil))
	}
}

func (p *presenceReporter) beatAll() {
	r := bus.PresenceReport{Edge: p.edge, TTL: (3 * p.beat).Milliseconds()}
	p.mu.Lock()
	for u := range p.conns {
		r.Online = append(r.Online, u)
	}
	p.mu.Unlock()
	if len(r.Online) > 0 {
		p.nc.Publish(bus.PresenceSubject, r.AppendMsgpack(nil))
	}
}

func (p *presenceReporter) close() {
	close(p.stop)
	p.done.Wait()
	p.nc.Flush()
}
