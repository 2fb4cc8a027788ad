package salam

import (
	"context"
	"crypto/rand"
	"errors"
	"iter"
	"time"

	"github.com/salamhq/salam/sdk/go/wire"
)

// call sends a request and retries it — on the same connection after a
// timeout, on the next one after a disconnect, after backoff for a
// temporary refusal — until it is answered, refused for good, or ctx ends.
// Every request of the protocol is idempotent (a publish through its client
// message id), so a retry never does a thing twice.
func (c *Client) call(ctx context.Context, f wire.Frame) (*wire.Frame, error) {
	for attempt := 1; ; attempt++ {
		cn, err := c.conn(ctx)
		if err != nil {
			return nil, err
		}
		g := f
		r, err := cn.request(ctx, &g)
		if err == nil || !retriable(err) {
			return r, err
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		var refused *Error
		if errors.As(err, &refused) {
			if err := c.sleep(ctx, c.cfg.Backoff.Delay(attempt)); err != nil {
				return nil, err
			}
		}
	}
}

// NewMessageID returns a random client message id (26 characters).
func NewMessageID() string { return rand.Text() }

// Publish stores a message in channel and returns its sequence once the
// server committed it. Retries after timeouts, reconnects and temporary
// refusals reuse the same client message id, so the message is stored once
// whatever happens; ctx bounds the whole. It also ends your typing
// indicator in the channel.
func (c *Client) Publish(ctx context.Context, channel string, p Publication) (Ack, error) {
	if p.ID == "" {
		p.ID = NewMessageID()
	}
	c.StopTyping(ctx, channel)
	r, err := c.call(ctx, wire.Frame{Type: wire.TypePublish, Channel: channel, Data: p.Data, MsgID: p.ID,
		ContentType: p.ContentType, ReplyTo: p.ReplyTo, Attachments: p.Attachments})
	if err != nil {
		return Ack{ID: p.ID}, err
	}
	return Ack{ID: p.ID, Seq: r.Seq, Time: millis(r.Time)}, nil
}

// SendText publishes a text/plain message.
func (c *Client) SendText(ctx context.Context, channel, text string) (Ack, error) {
	return c.Publish(ctx, channel, Publication{Data: []byte(text)})
}

// History returns one page of the channel's messages.
func (c *Client) History(ctx context.Context, channel string, q HistoryQuery) (Page, error) {
	if q.Limit < 0 || q.Limit > 200 {
		return Page{}, &Error{Code: wire.CodeBadFrame, Reason: "history limit must be 1–200"}
	}
	r, err := c.call(ctx, wire.Frame{Type: wire.TypeHistory, Channel: channel, Before: q.Before,
		Since: q.After, Around: q.Around, Limit: uint16(q.Limit), Oldest: q.Oldest})
	if err != nil {
		return Page{}, err
	}
	page := Page{More: r.More, Messages: make([]Message, len(r.Messages))}
	for i := range r.Messages {
		page.Messages[i] = messageOf(channel, &r.Messages[i])
	}
	return page, nil
}

// Scroll walks the channel's history page after page in the direction q
// starts: back from q.Before (or from the newest), or forward from q.After
// (or from the first message with q.Oldest), yielding messages in the order
// of travel. It stops at the end, at the first error, or when the loop
// breaks. Around cannot be scrolled.
func (c *Client) Scroll(ctx context.Context, channel string, q HistoryQuery) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		forward := q.After != 0 || (q.Before == 0 && q.Oldest)
		q.Oldest = forward
		if q.Around != 0 {
			yield(Message{}, &Error{Code: wire.CodeBadFrame, Reason: "Around cannot be scrolled"})
			return
		}
		for {
			page, err := c.History(ctx, channel, q)
			if err != nil {
				yield(Message{}, err)
				return
			}
			if len(page.Messages) == 0 {
				return
			}
			for _, m := range page.Messages {
				if !yield(m, nil) {
					return
				}
			}
			if !page.More {
				return
			}
			if last := page.Messages[len(page.Messages)-1].Seq; forward {
				q.After = last
			} else {
				q.Before = last
			}
		}
	}
}

// Typing tells the channel's other subscribers that you are typing. Call it
// on every keystroke: it sends at most one start per Config.TypingInterval.
// Typing is ephemeral, so it is not retried: while disconnected it returns
// ErrDisconnected, which callers may ignore.
func (c *Client) Typing(ctx context.Context, channel string) error {
	c.mu.Lock()
	if time.Since(c.typed[channel]) < c.cfg.TypingInterval {
		c.mu.Unlock()
		return nil
	}
	c.typed[channel] = time.Now()
	cn := c.cur
	c.mu.Unlock()
	if cn == nil {
		return ErrDisconnected
	}
	return cn.send(ctx, &wire.Frame{Type: wire.TypeTyping, Channel: channel})
}

// StopTyping ends your typing indicator, if Typing started one.
func (c *Client) StopTyping(ctx context.Context, channel string) error {
	c.mu.Lock()
	_, started := c.typed[channel]
	delete(c.typed, channel)
	cn := c.cur
	c.mu.Unlock()
	if !started || cn == nil {
		return nil
	}
	return cn.send(ctx, &wire.Frame{Type: wire.TypeTyping, Channel: channel, Stop: true})
}

// MarkRead moves your read cursor in channel forward to seq (never back).
func (c *Client) MarkRead(ctx context.Context, channel string, seq uint64) error {
	_, err := c.call(ctx, wire.Frame{Type: wire.TypeReceipt, Channel: channel, Seq: seq, Kind: wire.ReceiptRead})
	return err
}

// MarkDelivered moves your delivered cursor in channel forward to seq.
func (c *Client) MarkDelivered(ctx context.Context, channel string, seq uint64) error {
	_, err := c.call(ctx, wire.Frame{Type: wire.TypeReceipt, Channel: channel, Seq: seq, Kind: wire.ReceiptDelivered})
	return err
}

// QueryPresence returns the presence of users (at most 100 by default, else
// ErrTooManyUsers), one entry per distinct user in the order asked. Users
// you share no channel with read as offline.
func (c *Client) QueryPresence(ctx context.Context, users ...string) ([]Presence, error) {
	r, err := c.call(ctx, wire.Frame{Type: wire.TypePresence, Users: users})
	if err != nil {
		return nil, err
	}
	out := make([]Presence, len(r.Presences))
	for i := range r.Presences {
		out[i] = presenceOf(&r.Presences[i])
	}
	return out, nil
}

// Ping measures the round trip to the server.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	_, err := c.call(ctx, wire.Frame{Type: wire.TypePing})
	return time.Since(start), err
}
