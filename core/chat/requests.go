package chat

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/valyala/bytebufferpool"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// ResumeLimit bounds the messages replayed to a resuming subscriber; beyond
// it the subscribe ack says More and the client fetches the rest by history.
const ResumeLimit = 500

// requestTimeout bounds the store work of one request.
const requestTimeout = 5 * time.Second

// decodeRequest reads a bus request and the client frame inside it, checking
// that the frame's channel is the subject's. The request's copy of the
// frame is only read here, so it lives in a pooled buffer.
func decodeRequest(m *nats.Msg, channelOf func(string) (string, bool)) (bus.Request, *wire.Frame, *wire.Frame) {
	buf := bytebufferpool.Get()
	defer bytebufferpool.Put(buf)
	req := bus.Request{Frame: buf.B[:0]}
	f := new(wire.Frame)
	err := req.DecodeMsgpack(m.Data)
	buf.B = req.Frame
	if err != nil || wire.Msgpack.Decode(req.Frame, f) != nil {
		return bus.Request{}, nil, errorFrame(wire.CodeBadFrame, "malformed request")
	}
	req.Frame = nil
	if ch, ok := channelOf(m.Subject); !ok || ch != f.Channel || !wire.ValidChannel(f.Channel) {
		return req, nil, errorFrame(wire.CodeBadChannel, "invalid channel")
	}
	return req, f, nil
}

func errorFrame(code wire.Code, reason string) *wire.Frame {
	return &wire.Frame{Type: wire.TypeError, Code: code, Reason: reason}
}

func (s *Service) reply(m *nats.Msg, f *wire.Frame) {
	if m.Reply != "" {
		s.send(m.Reply, f)
	}
}

// onPublish checks one publish and queues it for commit; the reply is sent
// from the committer once the message is stored.
func (s *Service) onPublish(m *nats.Msg) {
	req, f, refusal := decodeRequest(m, bus.PublishChannel)
	if refusal == nil && f.Type != wire.TypePublish {
		refusal = errorFrame(wire.CodeBadFrame, "not a publish")
	}
	if refusal != nil {
		s.reply(m, refusal)
		return
	}
	code, err := s.access.canPublish(context.Background(), f.Channel, req.User)
	if err != nil {
		s.log.Warn("access lookup", "channel", f.Channel, "err", err)
		s.reply(m, errorFrame(wire.CodeUnavailable, "store unavailable"))
		return
	}
	if code != 0 {
		s.reply(m, errorFrame(code, code.String()))
		return
	}
	msg := NewMessage{Channel: f.Channel, Sender: req.User, ClientID: f.MsgID, ContentType: f.ContentType,
		Body: f.Data, ReplyTo: f.ReplyTo, Attachments: storeAttachments(f.Attachments)}
	if err := s.validate(&msg); err != nil {
		code := wire.CodeBadFrame
		if len(msg.Body) > s.cfg.MaxBody {
			code = wire.CodeTooLarge
		}
		s.reply(m, errorFrame(code, strings.TrimPrefix(err.Error(), "chat: invalid message: ")))
		return
	}
	if req.Trace.Sampled() {
		s.traceReceived(&req, f, msg.ClientID)
		s.sends <- &send{msg: msg, reply: m.Reply, trace: req.Trace, queued: time.Now()}
		return
	}
	s.sends <- &send{msg: msg, reply: m.Reply}
}

// ack answers a publish once its commit is over: an ack with the message's
// sequence, or the error.
func (s *Service) ack(reply string, r AppendResult, err error) {
	if reply == "" {
		return
	}
	var out wire.Frame
	switch {
	case err != nil:
		out = *errorFrame(wire.CodeUnavailable, "store unavailable; retry with the same client message id")
	case r.Err != nil:
		out = *errorFrame(codeOf(r.Err), r.Err.Error())
	default:
		out = wire.Frame{Type: wire.TypeAck, Channel: r.Message.Channel, Seq: r.Message.Seq, Time: r.Message.CreatedAt.UnixMilli()}
	}
	s.send(reply, &out)
}

// codeOf maps store errors to wire codes.
func codeOf(err error) wire.Code {
	switch {
	case errors.Is(err, ErrNotFound):
		return wire.CodeChannelNotFound
	case errors.Is(err, ErrConflict):
		return wire.CodeConflict
	case errors.Is(err, ErrFull):
		return wire.CodeChannelFull
	case errors.Is(err, ErrDeleted):
		return wire.CodeMessageDeleted
	case errors.Is(err, ErrInvalid):
		return wire.CodeBadFrame
	}
	return wire.CodeInternal
}

// onRequest answers subscribe (access check and resume), history and
// receipt frames.
func (s *Service) onRequest(m *nats.Msg) {
	req, f, refusal := decodeRequest(m, requestChannel)
	if refusal != nil {
		s.reply(m, refusal)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var out *wire.Frame
	var err error
	switch f.Type {
	case wire.TypeSubscribe:
		out, err = s.subscribe(ctx, req.User, f)
	case wire.TypeHistory:
		out, err = s.history(ctx, req.User, f)
	case wire.TypeReceipt:
		out, err = s.receipt(ctx, req.User, f)
		if s.tracer != nil && err == nil {
			s.traceReceipt(&req, f.Channel, f.Seq, uint8(f.Kind), out.Type == wire.TypeAck)
		}
	default:
		out = errorFrame(wire.CodeBadFrame, "not a chat request")
	}
	if err != nil {
		s.log.Warn("chat request", "type", f.Type, "channel", f.Channel, "err", err)
		out = errorFrame(wire.CodeUnavailable, "store unavailable")
	}
	s.reply(m, out)
}

func requestChannel(subject string) (string, bool) {
	ch, ok := strings.CutPrefix(subject, bus.RequestSubject(""))
	return ch, ok && ch != ""
}

// subscribe checks that user may read the channel. With Seq set (resume) it
// answers with the first ResumeLimit messages after Seq, oldest first (read
// in store pages of at most MaxHistoryLimit), and More when newer ones
// remain: the client fetches those with history.
func (s *Service) subscribe(ctx context.Context, user string, f *wire.Frame) (*wire.Frame, error) {
	if code, err := s.access.canRead(ctx, f.Channel, user); err != nil || code != 0 {
		return errorFrame(code, code.String()), err
	}
	if f.Seq == 0 {
		return &wire.Frame{Type: wire.TypeAck, Channel: f.Channel}, nil
	}
	var msgs []Message
	for after := f.Seq; len(msgs) < ResumeLimit; {
		page, more, err := s.store.History(ctx, HistoryQuery{Channel: f.Channel, After: after,
			Limit: min(MaxHistoryLimit, ResumeLimit-len(msgs))})
		if err != nil {
			return nil, err
		}
		slices.Reverse(page)
		msgs = append(msgs, page...)
		if !more || len(page) == 0 {
			return messagesFrame(f.Channel, msgs, false), nil
		}
		after = page[len(page)-1].Seq
	}
	return messagesFrame(f.Channel, msgs, true), nil
}

func (s *Service) history(ctx context.Context, user string, f *wire.Frame) (*wire.Frame, error) {
	if code, err := s.access.canRead(ctx, f.Channel, user); err != nil || code != 0 {
		return errorFrame(code, code.String()), err
	}
	q := HistoryQuery{Channel: f.Channel, Before: f.Before, After: f.Since, Around: f.Around, Limit: int(f.Limit), Oldest: f.Oldest}
	if q.Limit == 0 {
		q.Limit = 50
	}
	cursors := 0
	for _, c := range []uint64{q.Before, q.After, q.Around} {
		if c != 0 {
			cursors++
		}
	}
	if cursors > 1 || q.Limit > MaxHistoryLimit {
		return errorFrame(wire.CodeBadFrame, "history takes at most one of hb, ha, hr and n ≤ 200"), nil
	}
	msgs, more, err := s.readHistory(ctx, q)
	if err != nil {
		return nil, err
	}
	return messagesFrame(f.Channel, msgs, more), nil
}

// readHistory reads a page. Oldest-first with no cursor starts at the first
// message: sequences are gap-free from 1, so that page is Seq < Limit+1, and
// more newer messages exist when the channel's last sequence is past it.
func (s *Service) readHistory(ctx context.Context, q HistoryQuery) ([]Message, bool, error) {
	if !q.Oldest || q.Before != 0 || q.After != 0 || q.Around != 0 {
		return s.store.History(ctx, q)
	}
	q.Before = uint64(q.Limit) + 1
	msgs, _, err := s.store.History(ctx, q)
	if err != nil {
		return nil, false, err
	}
	ch, err := s.store.Channel(ctx, q.Channel)
	if err != nil {
		return nil, false, err
	}
	return msgs, ch.LastSeq > uint64(q.Limit), nil
}

func messagesFrame(channel string, msgs []Message, more bool) *wire.Frame {
	out := &wire.Frame{Type: wire.TypeMessages, Channel: channel, More: more, Messages: make([]wire.Message, len(msgs))}
	for i := range msgs {
		out.Messages[i] = wireMessage(&msgs[i])
	}
	return out
}

// receipt moves the user's delivered or read cursor and, when it moved,
// tells the channel.
func (s *Service) receipt(ctx context.Context, user string, f *wire.Frame) (*wire.Frame, error) {
	move := s.store.MoveRead
	switch f.Kind {
	case wire.ReceiptRead:
	case wire.ReceiptDelivered:
		move = s.store.MoveDelivered
	default:
		return errorFrame(wire.CodeBadFrame, "receipt kind must be 1 (delivered) or 2 (read)"), nil
	}
	if code, err := s.access.canPublish(ctx, f.Channel, user); err != nil || code != 0 {
		return errorFrame(code, code.String()), err
	}
	cursor, moved, err := move(ctx, f.Channel, user, f.Seq)
	if errors.Is(err, ErrNotFound) {
		return errorFrame(wire.CodeNotMember, "not a member"), nil
	} else if err != nil {
		return nil, err
	}
	if moved {
		s.publish(&wire.Frame{Type: wire.TypeReceipt, Channel: f.Channel, From: user, Seq: cursor, Kind: f.Kind,
			Time: time.Now().UnixMilli()})
	}
	return &wire.Frame{Type: wire.TypeAck, Channel: f.Channel, Seq: cursor}, nil
}

func storeAttachments(as []wire.Attachment) []Attachment {
	if len(as) == 0 {
		return nil
	}
	out := make([]Attachment, len(as))
	for i, a := range as {
		out[i] = Attachment{URL: a.URL, Mime: a.Mime, Size: a.Size, Name: a.Name}
	}
	return out
}

func sortReactions(rs []wire.Reaction) {
	slices.SortFunc(rs, func(a, b wire.Reaction) int { return strings.Compare(a.Emoji, b.Emoji) })
}
