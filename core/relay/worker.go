package relay

import (
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// Reasons sent with error replies: fixed strings, never parsed.
const (
	reasonMalformed = "malformed publish request"
	reasonChannel   = "invalid channel name"
	reasonMismatch  = "channel does not match the request subject"
	reasonTooLarge  = "event larger than the bus allows"
	reasonNoBus     = "event could not be published"
)

// worker handles the requests of one subscription. nats.go calls handle from
// that subscription's goroutine only, one message at a time, so the decode
// targets and the buffer are reused without locking.
type worker struct {
	s   *Service
	pub bus.Publish
	ev  bus.Event
	buf []byte
}

func (w *worker) handle(m *nats.Msg) {
	start := time.Now()
	reply := w.process(m)
	w.s.metrics.result(reply.Code).Inc()
	if m.Reply != "" { // a publish without reply subject is relayed unacknowledged
		w.buf = reply.AppendMsgpack(w.buf[:0])
		if err := w.s.nc.Publish(m.Reply, w.buf); err != nil {
			w.s.log.Debug("relay reply", "err", err)
		}
	}
	w.s.metrics.duration.Observe(time.Since(start).Seconds())
}

// process validates and numbers one publish, publishing its event first.
func (w *worker) process(m *nats.Msg) bus.PublishReply {
	p := &w.pub
	if err := p.DecodeMsgpack(m.Data); err != nil {
		return bus.PublishReply{Code: wire.CodeBadFrame, Reason: reasonMalformed}
	}
	if !wire.ValidChannel(p.Channel) {
		return bus.PublishReply{Code: wire.CodeBadChannel, Reason: reasonChannel}
	}
	if ch, ok := bus.PublishChannel(m.Subject); !ok || ch != p.Channel {
		return bus.PublishReply{Code: wire.CodeBadChannel, Reason: reasonMismatch}
	}

	ch, created := w.s.channels.get(p.Channel)
	if created {
		w.s.metrics.channels.Inc()
	}
	ch.mu.Lock()
	w.ev = bus.Event{Channel: p.Channel, Seq: ch.seq + 1, From: p.From, MsgID: p.MsgID,
		Time: time.Now().UnixMilli(), Data: p.Data}
	w.buf = w.ev.AppendMsgpack(w.buf[:0])
	err := w.s.nc.Publish(ch.subject, w.buf)
	if err == nil {
		ch.seq++ // only a published event consumes a sequence: no gaps
	}
	ch.mu.Unlock()
	w.ev.Data = nil // p.Data's buffer is reused by the next decode

	switch {
	case errors.Is(err, nats.ErrMaxPayload):
		return bus.PublishReply{Code: wire.CodeTooLarge, Reason: reasonTooLarge}
	case err != nil:
		w.s.log.Warn("relay publish event", "channel", p.Channel, "err", err)
		return bus.PublishReply{Code: wire.CodeUnavailable, Reason: reasonNoBus}
	}
	return bus.PublishReply{Seq: w.ev.Seq, Time: w.ev.Time}
}
