package salam

import (
	"context"
	"errors"
	"time"

	"github.com/salamhq/salam/sdk/go/wire"
)

// SubscribeOptions tune Subscribe.
type SubscribeOptions struct {
	// After resumes after this message sequence: messages after it are
	// delivered first (replayed, then filled from history when more than
	// the server replays were missed). Pass the Position you saved. Zero
	// starts from now: the first message delivered is the next one sent.
	After uint64
}

// SubscriptionError is a subscription that failed on its own, reported to
// Config.OnError: a resubscribe the server refused (the subscription is
// then dropped) or a gap history could not fill.
type SubscriptionError struct {
	Channel string
	Err     error
}

func (e *SubscriptionError) Error() string {
	return "salam: subscription " + e.Channel + ": " + e.Err.Error()
}
func (e *SubscriptionError) Unwrap() error { return e.Err }

// Subscribe starts delivering the channel's events to the handlers and
// keeps doing so across reconnects, without losing or repeating a message.
// It returns once the server acknowledged, or with the server's refusal
// (ErrNotMember, ErrChannelNotFound, ErrBanned…). Subscribing to a channel
// already subscribed does nothing.
func (c *Client) Subscribe(ctx context.Context, channel string, opts ...SubscribeOptions) error {
	if !wire.ValidChannel(channel) {
		return &Error{Code: wire.CodeBadChannel, Reason: "invalid channel name"}
	}
	var opt SubscribeOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	c.mu.Lock()
	if c.subs[channel] != nil {
		c.mu.Unlock()
		return nil
	}
	sub := &subscription{channel: channel, position: opt.After}
	c.subs[channel] = sub
	c.mu.Unlock()

	err := c.start(ctx, sub, opt.After == 0)
	if err != nil {
		c.dropSubscription(sub)
	}
	return err
}

// start establishes a new subscription: its start point, then subscribe.
func (c *Client) start(ctx context.Context, sub *subscription, fromNow bool) error {
	if fromNow {
		// Resuming from the newest sequence (rather than subscribing without
		// one) is what lets a reconnect before the first message lose nothing.
		page, err := c.History(ctx, sub.channel, HistoryQuery{Limit: 1})
		if err != nil {
			return err
		}
		if len(page.Messages) > 0 {
			c.setPosition(sub, page.Messages[0].Seq)
		}
	}
	for {
		cn, err := c.conn(ctx)
		if err != nil {
			return err
		}
		if err = c.subscribeOn(ctx, cn, sub); err == nil || !errors.Is(err, ErrDisconnected) {
			return err
		}
	}
}

// subscribeOn subscribes sub on cn from its position, retrying temporary
// refusals while cn lives.
func (c *Client) subscribeOn(ctx context.Context, cn *conn, sub *subscription) error {
	for attempt := 1; ; attempt++ {
		f := wire.Frame{Type: wire.TypeSubscribe, Channel: sub.channel, Seq: c.position(sub)}
		ack, err := cn.request(ctx, &f)
		if err == nil || errors.Is(err, ErrAlreadySubscribed) {
			c.mu.Lock()
			sub.on, sub.ready = cn, true
			c.mu.Unlock()
			// Queued behind the replayed events: the rest of a replay cut
			// short, or, from position 0 (which the server cannot resume
			// from), whatever came before the subscription took hold.
			if err == nil && (ack.More || f.Seq == 0) {
				c.q.push(item{kind: itemMore, fill: sub})
			}
			return nil
		}
		if !retriable(err) || errors.Is(err, ErrDisconnected) {
			return err
		}
		if err := c.sleep(ctx, c.cfg.Backoff.Delay(attempt)); err != nil {
			return err
		}
	}
}

// resubscribe restores every established subscription on a new connection.
func (c *Client) resubscribe(cn *conn) {
	defer c.wg.Done()
	c.mu.Lock()
	var subs []*subscription
	for _, sub := range c.subs {
		if sub.ready && sub.on != cn {
			subs = append(subs, sub)
		}
	}
	c.mu.Unlock()
	for _, sub := range subs {
		err := c.subscribeOn(cn.ctx, cn, sub)
		switch {
		case err == nil:
		case cn.ctx.Err() != nil || errors.Is(err, ErrDisconnected) || errors.Is(err, ErrRequestTimeout):
			cn.close() // the next connection tries again
			return
		default:
			c.dropSubscription(sub)
			c.q.push(item{kind: itemError, err: &SubscriptionError{Channel: sub.channel, Err: err}})
		}
	}
}

// Unsubscribe stops the channel's events. Events already received may still
// be delivered.
func (c *Client) Unsubscribe(ctx context.Context, channel string) error {
	sub := c.subscription(channel)
	if sub == nil {
		return nil
	}
	c.dropSubscription(sub)
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	if cn == nil {
		return nil // the server forgot it with the connection
	}
	_, err := cn.request(ctx, &wire.Frame{Type: wire.TypeUnsubscribe, Channel: channel})
	if errors.Is(err, ErrNotSubscribed) || errors.Is(err, ErrDisconnected) {
		return nil
	}
	return err
}

// Position returns the sequence of the last message delivered in channel
// (or its start point), and whether the channel is subscribed. Save it to
// resume with SubscribeOptions.After after a restart.
func (c *Client) Position(channel string) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sub := c.subs[channel]; sub != nil {
		return sub.position, true
	}
	return 0, false
}

func (c *Client) subscription(channel string) *subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subs[channel]
}

func (c *Client) position(sub *subscription) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sub.position
}

func (c *Client) setPosition(sub *subscription, seq uint64) {
	c.mu.Lock()
	sub.position = seq
	c.mu.Unlock()
}

func (c *Client) dropSubscription(sub *subscription) {
	c.mu.Lock()
	if c.subs[sub.channel] == sub {
		delete(c.subs, sub.channel)
	}
	c.mu.Unlock()
}

// fill asks history for the messages after from, on a goroutine; the page
// comes back through the dispatch queue. It retries until the client closes.
func (c *Client) fill(sub *subscription, from uint64) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		page, err := c.History(c.ctx, sub.channel, HistoryQuery{After: from, Limit: 200, Oldest: true})
		if c.ctx.Err() != nil {
			return
		}
		if err != nil {
			err = &SubscriptionError{Channel: sub.channel, Err: err}
		}
		c.q.push(item{kind: itemFill, fill: sub, page: page, err: err})
	}()
}

// sleep waits d, or until ctx ends or the client closes.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.closing:
		return ErrClosed
	}
}
