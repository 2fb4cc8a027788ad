package chat

import (
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"
	"go.opentelemetry.io/otel/attribute"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/wire"
)

// SetTracer makes the service record the core hops of sampled messages
// (those whose bus request carries a trace context) and of receipts for
// them. Call before Start; nil (the default) records nothing.
func (s *Service) SetTracer(t *observe.Tracer) { s.tracer = t }

// tracedMessages remembers the trace of recently traced messages, so that
// receipts for them join their journey. It is a fixed table of atomic
// slots indexed by a hash of (channel, seq): a receipt's lookup takes no
// lock and allocates nothing, a newer traced message may overwrite an
// older one's slot (its later receipts then go untraced), and entries
// older than tracedKeep are ignored. any skips even the hash while nothing
// was ever traced.
type tracedMessages struct {
	seed  maphash.Seed
	any   atomic.Bool
	slots [tracedSlots]atomic.Pointer[tracedEntry]
}

type tracedEntry struct {
	channel string
	seq     uint64
	tc      bus.TraceContext
	at      time.Time
}

const (
	tracedSlots = 1024 // a power of two
	// tracedKeep is how long a traced message waits for its receipts.
	tracedKeep = 5 * time.Minute
)

func (t *tracedMessages) slot(channel string, seq uint64) *atomic.Pointer[tracedEntry] {
	h := maphash.String(t.seed, channel) ^ seq*0x9e3779b97f4a7c15
	return &t.slots[h&(tracedSlots-1)]
}

func (t *tracedMessages) add(channel string, seq uint64, tc bus.TraceContext) {
	t.slot(channel, seq).Store(&tracedEntry{channel: channel, seq: seq, tc: tc, at: time.Now()})
	t.any.Store(true)
}

func (t *tracedMessages) lookup(channel string, seq uint64) (bus.TraceContext, bool) {
	if !t.any.Load() {
		return bus.TraceContext{}, false
	}
	e := t.slot(channel, seq).Load()
	if e == nil || e.seq != seq || e.channel != channel || time.Since(e.at) > tracedKeep {
		return bus.TraceContext{}, false
	}
	return e.tc, true
}

// traceReceipt records a receipt for a traced message: from the edge
// receiving it to core having moved the cursor.
func (s *Service) traceReceipt(req *bus.Request, channel string, seq uint64, kind uint8, moved bool) {
	tc, ok := s.traced.lookup(channel, seq)
	if !ok {
		return
	}
	name := "receipt: delivered"
	if kind == 2 {
		name = "receipt: read"
	}
	s.tracer.Record(tc, name, time.Unix(0, req.Received), time.Now(), attribute.String("channel", channel),
		attribute.Int64("seq", int64(seq)), attribute.String("user", req.User), attribute.Bool("moved", moved))
}

// traceReceived records the bus hop and core's checks of a traced publish.
// req.Trace.Sent is when the edge handed it to NATS; Received its arrival.
func (s *Service) traceReceived(req *bus.Request, f *wire.Frame, clientID string) {
	now := time.Now()
	attrs := []attribute.KeyValue{attribute.String("channel", f.Channel), attribute.String("msg_id", clientID)}
	if req.Trace.Sent != 0 {
		s.tracer.Record(req.Trace, "bus → core", time.Unix(0, req.Trace.Sent), now, attrs...)
	}
	s.tracer.Record(req.Trace, "core: access check", now, time.Now(), attrs...)
}

// traceCommit finishes a traced send: the batch wait, the store append
// (de-dup by client id, sequence assignment and commit in one
// transaction), the event publish with the trace in its header, the ack.
func (s *Service) traceCommit(b *send, r AppendResult, appendStart, appended time.Time, batch int) {
	attrs := []attribute.KeyValue{attribute.String("channel", b.msg.Channel), attribute.String("msg_id", b.msg.ClientID)}
	s.tracer.Record(b.trace, "core: batch wait", b.queued, appendStart, append(attrs, attribute.Int("batch", batch))...)
	seq := attribute.Int64("seq", int64(r.Message.Seq))
	commit := s.tracer.Record(b.trace, "store: de-dup, sequence, commit", appendStart, appended,
		append(attrs, seq, attribute.Bool("duplicate", r.Duplicate), attribute.Int("batch", batch))...)
	if r.Err == nil && !r.Duplicate {
		start := time.Now()
		ev := eventFrame(&r.Message)
		// The event span's id is known only after it ends; the header
		// names the commit span as parent of the edges' hops and carries
		// the send time for the bus hop.
		s.traced.add(b.msg.Channel, r.Message.Seq, commit) // before the event: a receipt may follow at once
		tc := commit
		tc.Sent = time.Now().UnixNano()
		buf := bytebufferpool.Get()
		buf.B = wire.Msgpack.Append(buf.B[:0], &ev)
		err := s.nc.PublishMsg(&nats.Msg{Subject: bus.EventSubject(ev.Channel), Header: tc.Header(), Data: buf.B})
		bytebufferpool.Put(buf)
		if err != nil {
			s.log.Warn("event publish", "channel", ev.Channel, "err", err)
		}
		s.tracer.Record(b.trace, "core: event published", start, time.Now(), append(attrs, seq)...)
	}
	ackStart := time.Now()
	b.finish(s, r, nil)
	s.tracer.Record(b.trace, "core: ack sent", ackStart, time.Now(), append(attrs, seq)...)
}
