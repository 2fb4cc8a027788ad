package chat

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/wire"
)

// Service is the chat service of one core process. It answers edge
// requests (publish, subscribe, history, receipts) arriving as bus.Requests
// that carry the client's wire frame, and replies with wire frames. A
// message is acknowledged only after the Store committed it; its event is
// published on the channel's subject after the commit too.
//
// Goroutines: nats.go delivers publishes to onPublish and other requests to
// onRequest (one goroutine per subscription); one committer goroutine owns
// batching and Store.Append, so the events of a channel leave this process
// in sequence order.
type Service struct {
	nc     *nats.Conn
	store  Store
	cfg    Config
	log    *slog.Logger
	access *access

	sends    chan *send
	subs     []*nats.Subscription
	requests *bus.Served
	done     sync.WaitGroup
	stopped  chan struct{}
	tracer   *observe.Tracer // nil: no journeys
	traced   tracedMessages
}

// send is one message waiting for its commit. A send from the bus is
// answered on reply; one from Send (REST) calls done.
type send struct {
	msg    NewMessage
	reply  string
	done   func(AppendResult, error)
	trace  bus.TraceContext // sampled messages only
	queued time.Time        // when a traced send was queued
}

// NewService builds a service on a NATS connection and a store.
func NewService(nc *nats.Conn, store Store, cfg Config, log *slog.Logger) (*Service, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if nc == nil || store == nil {
		return nil, errors.New("chat: NATS connection and store are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{nc: nc, store: store, cfg: cfg, log: log.With("component", "chat"),
		access: newAccess(store, cfg.AccessCacheTTL), sends: make(chan *send, cfg.MaxBatch*4),
		stopped: make(chan struct{})}
	s.traced.seed = maphash.MakeSeed()
	return s, nil
}

// Store returns the service's store (for the REST API).
func (s *Service) Store() Store { return s.store }

// Start subscribes to publishes and requests in the core queue group.
// Publishes are checked on the subscription's goroutine (an access-cache
// hit) and committed in batches; requests (subscribe, history, receipts)
// read the store, so up to RequestConcurrency run at once.
func (s *Service) Start() error {
	sub, err := s.nc.QueueSubscribe(bus.PublishWildcard, bus.QueueCore, s.onPublish)
	if err != nil {
		return fmt.Errorf("chat: subscribe %s: %w", bus.PublishWildcard, err)
	}
	sub.SetPendingLimits(-1, 256<<20)
	s.subs = append(s.subs, sub)
	if s.requests, err = bus.Serve(s.nc, bus.RequestWildcard, s.cfg.RequestConcurrency, s.onRequest); err != nil {
		return fmt.Errorf("chat: subscribe %s: %w", bus.RequestWildcard, err)
	}
	s.done.Add(1)
	go s.commitLoop()
	return s.nc.Flush()
}

// Stop stops taking requests and commits and answers those already taken.
func (s *Service) Stop(ctx context.Context) error {
	var errs []error
	if s.requests != nil {
		s.requests.Stop()
	}
	for _, sub := range s.subs {
		errs = append(errs, sub.Drain())
	}
	for _, sub := range s.subs {
		for sub.IsValid() && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	close(s.stopped)
	s.done.Wait()
	return errors.Join(errs...)
}

// Send commits one message, batched with others, and waits for the result:
// the stored message and whether it was a retry of one already stored.
func (s *Service) Send(ctx context.Context, m NewMessage) (Message, bool, error) {
	if err := s.validate(&m); err != nil {
		return Message{}, false, err
	}
	type result struct {
		r   AppendResult
		err error
	}
	ch := make(chan result, 1)
	select {
	case s.sends <- &send{msg: m, done: func(r AppendResult, err error) { ch <- result{r, err} }}:
	case <-s.stopped:
		return Message{}, false, errors.New("chat: service stopped")
	case <-ctx.Done():
		return Message{}, false, ctx.Err()
	}
	select {
	case res := <-ch:
		if res.err == nil {
			res.err = res.r.Err
		}
		return res.r.Message, res.r.Duplicate, res.err
	case <-ctx.Done():
		return Message{}, false, ctx.Err() // it may still commit: a retry with the same client id finds it
	}
}

// ErrInvalid marks a request the service refuses before touching the store.
var ErrInvalid = errors.New("chat: invalid message")

func (s *Service) validate(m *NewMessage) error {
	switch {
	case m.ClientID == "":
		return fmt.Errorf("%w: a message needs a client message id", ErrInvalid)
	case len(m.ClientID) > s.cfg.MaxClientID:
		return fmt.Errorf("%w: client message id longer than %d bytes", ErrInvalid, s.cfg.MaxClientID)
	case len(m.Body) > s.cfg.MaxBody:
		return fmt.Errorf("%w: body larger than %d bytes", ErrInvalid, s.cfg.MaxBody)
	case len(m.ContentType) > 128:
		return fmt.Errorf("%w: content type longer than 128 bytes", ErrInvalid)
	case len(m.Attachments) > 32:
		return fmt.Errorf("%w: more than 32 attachments", ErrInvalid)
	}
	if m.ContentType == "" {
		m.ContentType = "text/plain"
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now()
	}
	m.CreatedAt = m.CreatedAt.UTC().Truncate(time.Microsecond)
	return nil
}

// commitLoop gathers sends into batches: it takes whatever is queued, waits
// at most BatchWait for more while the batch is not full, and commits.
func (s *Service) commitLoop() {
	defer s.done.Done()
	batch := make([]*send, 0, s.cfg.MaxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case first := <-s.sends:
			batch = append(batch[:0], first)
		case <-s.stopped:
			for len(s.sends) > 0 { // commit what was accepted before Stop
				batch = append(batch[:0], <-s.sends)
				s.commit(batch)
			}
			return
		}
		timer.Reset(s.cfg.BatchWait)
	fill:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case next := <-s.sends:
				batch = append(batch, next)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		s.commit(batch)
	}
}

// commit appends a batch, publishes the event of each new message, then
// reports every result. Nothing is acknowledged before the commit.
func (s *Service) commit(batch []*send) {
	msgs := make([]NewMessage, len(batch))
	for i, b := range batch {
		msgs[i] = b.msg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	appendStart := time.Now()
	results, err := s.store.Append(ctx, msgs)
	appended := time.Now()
	cancel()
	if err != nil {
		s.log.Warn("append failed", "messages", len(msgs), "err", err)
		for _, b := range batch {
			b.finish(s, AppendResult{}, err)
		}
		return
	}
	for i, r := range results {
		b := batch[i]
		if b.trace.Sampled() {
			s.traceCommit(b, r, appendStart, appended, len(batch))
			continue
		}
		if r.Err == nil && !r.Duplicate {
			ev := eventFrame(&r.Message)
			s.publish(&ev)
		}
		b.finish(s, r, nil)
	}
}

func (b *send) finish(s *Service, r AppendResult, err error) {
	if b.done != nil {
		b.done(r, err)
		return
	}
	s.ack(b.reply, r, err)
}

// memberLeft forgets the user's access and tells the channel, whose edges
// then end the user's subscriptions to it.
func (s *Service) memberLeft(channel, user string) {
	s.access.forget(channel, user)
	s.publish(&wire.Frame{Type: wire.TypeEvent, Kind: wire.EventMemberLeft, Channel: channel, From: user,
		Time: time.Now().UnixMilli()})
}

// publish puts a wire frame on its channel's event subject.
func (s *Service) publish(f *wire.Frame) {
	if err := s.send(bus.EventSubject(f.Channel), f); err != nil {
		s.log.Warn("event publish", "channel", f.Channel, "type", f.Type, "err", err)
	}
}

// send encodes f into a pooled buffer (nats.go copies what it publishes)
// and publishes it on subject.
func (s *Service) send(subject string, f *wire.Frame) error {
	buf := bytebufferpool.Get()
	buf.B = wire.Msgpack.Append(buf.B[:0], f)
	err := s.nc.Publish(subject, buf.B)
	bytebufferpool.Put(buf)
	return err
}

// eventFrame is the event announcing a new message.
func eventFrame(m *Message) wire.Frame {
	return wire.Frame{Type: wire.TypeEvent, Channel: m.Channel, Seq: m.Seq, From: m.Sender, MsgID: m.ClientID,
		Time: m.CreatedAt.UnixMilli(), ContentType: contentTypeOnWire(m.ContentType), Data: m.Body,
		ReplyTo: m.ReplyTo, Attachments: wireAttachments(m.Attachments)}
}

// contentTypeOnWire omits the default content type.
func contentTypeOnWire(ct string) string {
	if ct == "text/plain" {
		return ""
	}
	return ct
}

func wireAttachments(as []Attachment) []wire.Attachment {
	if len(as) == 0 {
		return nil
	}
	out := make([]wire.Attachment, len(as))
	for i, a := range as {
		out[i] = wire.Attachment{URL: a.URL, Mime: a.Mime, Size: a.Size, Name: a.Name}
	}
	return out
}

// wireMessage converts a stored message for a messages page.
func wireMessage(m *Message) wire.Message {
	w := wire.Message{Seq: m.Seq, From: m.Sender, MsgID: m.ClientID, ContentType: contentTypeOnWire(m.ContentType),
		Data: m.Body, ReplyTo: m.ReplyTo, Attachments: wireAttachments(m.Attachments),
		Time: m.CreatedAt.UnixMilli(), Deleted: m.Deleted, Pinned: m.Pinned}
	if !m.EditedAt.IsZero() {
		w.Edited = m.EditedAt.UnixMilli()
	}
	for emoji, n := range m.Reactions {
		w.Reactions = append(w.Reactions, wire.Reaction{Emoji: emoji, Count: uint32(n)})
	}
	sortReactions(w.Reactions)
	return w
}
