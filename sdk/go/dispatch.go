package salam

import (
	"bytes"
	"sync"
	"time"

	"github.com/salamhq/salam/sdk/go/wire"
)

// itemKind says what an item of the dispatch queue carries.
type itemKind uint8

const (
	itemNone itemKind = iota // a frame type or event kind this SDK does not know: ignored
	itemMessage
	itemUpdate
	itemTyping
	itemReceipt
	itemPresence
	itemState
	itemError
	itemFill       // a history page that fills a gap, or the error that ended the attempt
	itemMore       // a resume replay was cut short ("mo"): fill from the position
	itemTypingGone // a typing start expired
	itemCall
	itemSignal
	itemRoom
)

// item is one entry of the dispatch queue: a value, so that queueing
// allocates nothing but the queue's own growth.
type item struct {
	kind     itemKind
	msg      Message
	update   Update
	typing   Typing
	receipt  Receipt
	presence PresenceChange
	state    State
	err      error
	fill     *subscription // itemFill: the subscription the page is for
	page     Page
	gen      uint64 // itemTypingGone: which start expired
	call     CallEvent
	signal   Signal
	room     RoomEvent
}

// itemOf converts an incoming frame. Data is copied: the frame is reused.
func itemOf(f *wire.Frame) item {
	switch f.Type {
	case wire.TypeEvent:
		if f.Kind == wire.EventMessage {
			return item{kind: itemMessage, msg: Message{Channel: f.Channel, Seq: f.Seq, From: f.From,
				MsgID: f.MsgID, ContentType: f.ContentType, Data: bytes.Clone(f.Data), ReplyTo: f.ReplyTo,
				Attachments: f.Attachments, Time: millis(f.Time)}}
		}
		if f.Kind > wire.EventMemberLeft {
			break // newer than this SDK: ignored, as PROTOCOL.md asks
		}
		return item{kind: itemUpdate, update: Update{Channel: f.Channel, Kind: UpdateKind(f.Kind), Seq: f.Seq,
			From: f.From, Time: millis(f.Time), ContentType: f.ContentType, Data: bytes.Clone(f.Data),
			Reactions: f.Reactions}}
	case wire.TypeTyping:
		return item{kind: itemTyping, typing: Typing{Channel: f.Channel, User: f.From, Stop: f.Stop}}
	case wire.TypeReceipt:
		return item{kind: itemReceipt, receipt: Receipt{Channel: f.Channel, User: f.From, Seq: f.Seq, Kind: ReceiptKind(f.Kind)}}
	case wire.TypePresence:
		return item{kind: itemPresence, presence: PresenceChange{Channel: f.Channel, User: f.From,
			Online: f.Kind == wire.PresenceOnline, LastSeen: millis(f.Time)}}
	case wire.TypeCall:
		if f.Kind < wire.CallAccepted || f.Kind > wire.CallRingStopped {
			break
		}
		return item{kind: itemCall, call: callEventOf(f), err: sessionGone(f)}
	case wire.TypeOffer, wire.TypeAnswer, wire.TypeCandidate, wire.TypeEndOfCandidates:
		return item{kind: itemSignal, signal: signalOf(f)}
	case wire.TypeRoom:
		if ev, ok := roomEventOf(f); ok {
			return item{kind: itemRoom, room: ev}
		}
	}
	return item{kind: itemNone}
}

// queue is the unbounded FIFO between the read loop (and timers, fillers)
// and the dispatcher. Unbounded, so that a handler may wait for a reply
// (Publish from OnMessage) while the read loop keeps reading.
type queue struct {
	mu     sync.Mutex
	items  []item
	wake   chan struct{} // one pending wake-up
	closed bool
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

func (q *queue) push(it item) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, it)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take swaps out everything queued; nil when empty.
func (q *queue) take(spare []item) []item {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = spare[:0]
	return items
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed, q.items = true, nil
	q.mu.Unlock()
}

// subscription is the client's state of one subscribed channel. position
// and on are guarded by Client.mu; filling and held belong to the dispatcher.
type subscription struct {
	channel  string
	position uint64 // the last message sequence delivered (or the start point)
	on       *conn  // the connection it is subscribed on, nil while not
	ready    bool   // Subscribe succeeded once: reconnects restore it

	filling bool   // a history request is filling a gap
	held    []item // events that arrived behind the gap, in order
	giveUp  bool   // the last fill found nothing: deliver the next message even past a gap
}

// typingKey identifies one user typing in one channel.
type typingKey struct{ channel, user string }

// typingTimer ends a typing start; gen tells a stale expiry from the
// current one.
type typingTimer struct {
	t   *time.Timer
	gen uint64
}

// dispatcher owns sequencing and calls the handlers, on one goroutine.
type dispatcher struct {
	c        *Client
	typing   map[typingKey]typingTimer
	gen      uint64
	presence map[string]PresenceChange // last change delivered per user
}

func (c *Client) dispatch() {
	defer c.wg.Done()
	d := &dispatcher{c: c, typing: map[typingKey]typingTimer{}, presence: map[string]PresenceChange{}}
	defer func() {
		for _, t := range d.typing {
			t.t.Stop()
		}
	}()
	var batch []item
	for {
		select {
		case <-c.q.wake:
		case <-c.closing:
			return
		}
		for batch = c.q.take(batch); len(batch) > 0; batch = c.q.take(batch) {
			for i := range batch {
				select {
				case <-c.closing:
					return
				default:
				}
				d.handle(&batch[i])
				batch[i] = item{} // let the GC have the payloads
			}
		}
	}
}

func (d *dispatcher) handle(it *item) {
	h := &d.c.cfg
	switch it.kind {
	case itemMessage, itemUpdate:
		if sub := d.c.subscription(channelOf(it)); sub != nil {
			d.sequence(sub, *it)
		}
	case itemFill:
		d.filled(it)
	case itemMore:
		if sub := it.fill; d.c.subscription(sub.channel) == sub && !sub.filling {
			sub.filling = true
			d.c.fill(sub, d.c.position(sub))
		}
	case itemTyping:
		d.typingEvent(it.typing)
	case itemTypingGone:
		k := typingKey{it.typing.Channel, it.typing.User}
		if t, ok := d.typing[k]; ok && t.gen == it.gen { // not refreshed nor stopped since
			delete(d.typing, k)
			call(h.OnTyping, it.typing)
		}
	case itemReceipt:
		call(h.OnReceipt, it.receipt)
	case itemPresence:
		p := it.presence
		if last, ok := d.presence[p.User]; ok && last.Online == p.Online && last.LastSeen.Equal(p.LastSeen) {
			return // the same change, arriving on another shared channel
		}
		d.presence[p.User] = p
		call(h.OnPresence, p)
	case itemCall:
		ev := it.call
		if ev.Kind == CallEnded || (ev.Kind == CallLeft && it.err != nil && ev.From == d.c.Session().User) {
			d.c.forgetCall(ev.Call) // over, or resumed on another connection of yours
		}
		call(h.OnCall, ev)
	case itemSignal:
		call(h.OnSignal, it.signal)
	case itemRoom:
		call(h.OnRoom, it.room)
	case itemState:
		if h.OnState != nil {
			h.OnState(it.state, it.err)
		}
	case itemError:
		call(h.OnError, it.err)
	}
}

func call[T any](fn func(T), v T) {
	if fn != nil {
		fn(v)
	}
}

func channelOf(it *item) string {
	if it.kind == itemMessage {
		return it.msg.Channel
	}
	return it.update.Channel
}

// sequence delivers it in order: messages exactly once, without gaps. A
// message past a gap holds everything behind it until history fills the
// gap; a message at or below the position is a duplicate.
func (d *dispatcher) sequence(sub *subscription, it item) {
	if sub.filling {
		sub.held = append(sub.held, it)
		return
	}
	if it.kind == itemUpdate {
		if it.update.Kind == MemberLeft && it.update.From == d.c.Session().User {
			d.c.dropSubscription(sub) // the server ended it
		}
		call(d.c.cfg.OnUpdate, it.update)
		return
	}
	pos := d.c.position(sub)
	switch s := it.msg.Seq; {
	case s <= pos:
		return
	case s > pos+1 && !sub.giveUp:
		sub.filling = true
		sub.held = append(sub.held, it)
		d.c.fill(sub, pos)
		return
	}
	sub.giveUp = false
	d.c.setPosition(sub, it.msg.Seq)
	call(d.c.cfg.OnMessage, it.msg)
}

// filled delivers a page fetched to fill a gap, then what was held.
func (d *dispatcher) filled(it *item) {
	sub := it.fill
	if d.c.subscription(sub.channel) != sub {
		return // unsubscribed meanwhile
	}
	sub.filling = false
	if it.err != nil {
		call(d.c.cfg.OnError, it.err)
	}
	progress := false
	for _, m := range it.page.Messages {
		if m.Seq > d.c.position(sub) {
			d.c.setPosition(sub, m.Seq)
			progress = true
			call(d.c.cfg.OnMessage, m)
		}
	}
	if progress && it.page.More { // keep going before anything newer
		sub.filling = true
		d.c.fill(sub, d.c.position(sub))
		return
	}
	sub.giveUp = !progress // nothing there: do not ask again for the same gap
	held := sub.held
	sub.held = nil
	for _, h := range held {
		d.sequence(sub, h)
	}
}

func (d *dispatcher) typingEvent(t Typing) {
	k := typingKey{t.Channel, t.User}
	if old, ok := d.typing[k]; ok {
		old.t.Stop()
		delete(d.typing, k)
	}
	if !t.Stop {
		d.gen++
		gone := item{kind: itemTypingGone, typing: Typing{Channel: t.Channel, User: t.User, Stop: true}, gen: d.gen}
		d.typing[k] = typingTimer{time.AfterFunc(d.c.cfg.TypingExpiry, func() { d.c.q.push(gone) }), d.gen}
	}
	call(d.c.cfg.OnTyping, t)
}
