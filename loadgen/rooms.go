package loadgen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// maxRoomMessages bounds the messages one worker publishes in a run: each
// costs 32 bytes of bookkeeping until the result.
const maxRoomMessages = 1 << 24

// roomLoad is a worker's part of the dm and chat scenarios. Its
// connections are the members of whole rooms (a room never spans workers),
// so the worker knows who must receive each message it publishes: every
// other member of the room. It publishes from its own connections for Hold,
// PublishRate per room (chat: a random member each time) or per member
// (dm), then waits up to Drain for the acks and deliveries still due.
//
// A publish's frame ID is its message index + 1, so an ack or error read
// by a poller finds its message without a lookup table; its payload carries
// the send time, the message index and the run id, so a receipt does too.
type roomLoad struct {
	w         *worker
	size      int
	perMember bool // dm: every member publishes at the rate; chat: one member per room
	slots     int  // publishing slots: members (dm) or rooms (chat)
	msgs      []roomMsg

	sent, acked, failed, received atomic.Int64
	expected                      atomic.Int64 // receipts due for acked messages: acked × (size-1)
	ack, delivery, lastReceipt    *latencies
	errKinds                      map[string]int64 // guarded by w.mu
}

// roomMsg is the state of one published message.
type roomMsg struct {
	sentAt atomic.Int64 // Unix ns; 0: not sent
	sender atomic.Int32 // connection index + 1; 0: not sent
	state  atomic.Int32 // msgPending, msgAcked or msgFailed
	count  atomic.Int32 // receipts by members other than the sender
	last   atomic.Int64 // latest receipt, Unix ns
}

const (
	msgPending = iota
	msgAcked
	msgFailed
)

func newRoomLoad(w *worker) (*roomLoad, error) {
	cfg := &w.cfg
	l := &roomLoad{
		w:           w,
		size:        cfg.RoomSize,
		perMember:   cfg.Scenario == ScenarioDM,
		ack:         w.newLatencies("ack_ms", 4),
		delivery:    w.newLatencies("delivery_ms", deliveryShards),
		lastReceipt: w.newLatencies("last_receipt_ms", 1),
		errKinds:    map[string]int64{},
	}
	l.slots = len(cfg.Rooms)
	if l.perMember {
		l.slots = cfg.Conns
	}
	hold := time.Duration(cfg.HoldMs) * time.Millisecond
	n := math.Ceil(hold.Seconds()*float64(l.slots)*cfg.PublishRate - 1e-9)
	if cfg.PublishRate <= 0 || cfg.PayloadSize < payloadHeader || n > maxRoomMessages {
		return nil, fmt.Errorf("loadgen worker %d: %v × %d × %g/s publishes (payload %d bytes): want a positive rate, at most %d messages",
			cfg.Worker, hold, l.slots, cfg.PublishRate, cfg.PayloadSize, maxRoomMessages)
	}
	l.msgs = make([]roomMsg, int(n))
	return l, nil
}

func (l *roomLoad) channel(i int) string      { return l.w.cfg.Rooms[i/l.size] }
func (l *roomLoad) connecting(int, time.Time) {}

func (l *roomLoad) counters(c *counters) {
	c.Sent, c.Acked, c.PubFailed, c.Received = l.sent.Load(), l.acked.Load(), l.failed.Load(), l.received.Load()
}

// run publishes for Hold, then drains.
func (l *roomLoad) run(ctx context.Context) {
	cfg := &l.w.cfg
	if pace(ctx, time.Now(), float64(l.slots)*cfg.PublishRate, len(l.msgs), l.publish) != nil {
		return
	}
	deadline := time.Now().Add(time.Duration(cfg.DrainMs) * time.Millisecond)
	for !l.drained() && time.Now().Before(deadline) {
		if sleep(ctx, 20*time.Millisecond) != nil {
			return
		}
	}
	for k := range l.sent.Load() {
		if l.msgs[k].state.CompareAndSwap(msgPending, msgFailed) {
			l.failed.Add(1)
			l.w.countKind(l.errKinds, phaseError{"publish", context.DeadlineExceeded})
		}
	}
}

// drained reports whether every publish was answered and every acked
// message reached every other member of its room.
func (l *roomLoad) drained() bool {
	return l.sent.Load() == l.acked.Load()+l.failed.Load() && l.received.Load() >= l.expected.Load()
}

// publish sends message k from its slot: the slot's member (dm) or a
// random open member of the slot's room (chat).
func (l *roomLoad) publish(k int) {
	slot := k % l.slots
	i, c := slot, (*wsclient.Conn)(nil)
	if l.perMember {
		c = l.w.conn(i)
	} else {
		first, pick := slot*l.size, rand.IntN(l.size)
		for j := 0; j < l.size && c == nil; j++ {
			i = first + (pick+j)%l.size
			c = l.w.conn(i)
		}
	}
	m := &l.msgs[k]
	now := time.Now()
	m.sender.Store(int32(i + 1))
	m.sentAt.Store(now.UnixNano())
	l.sent.Add(1)
	err := wsclient.ErrClosed
	if c != nil {
		cfg := &l.w.cfg
		data := make([]byte, cfg.PayloadSize)
		putPayload(data, now.UnixNano(), uint32(k), cfg.RunID)
		err = c.Send(&wire.Frame{Type: wire.TypePublish, ID: uint32(k + 1), Channel: l.channel(i), Data: data,
			MsgID: "lg-" + strconv.FormatInt(cfg.RunID, 36) + "-" + strconv.Itoa(cfg.Worker) + "-" + strconv.Itoa(k)})
	}
	if err != nil && m.state.CompareAndSwap(msgPending, msgFailed) {
		l.failed.Add(1)
		l.w.countKind(l.errKinds, phaseError{"publish", err})
	}
}

// onFrame takes acks and errors of connection i's publishes and events of
// its room.
func (l *roomLoad) onFrame(i int, f *wire.Frame) {
	now := time.Now().UnixNano()
	switch f.Type {
	case wire.TypeAck, wire.TypeError:
		k := int(f.ID) - 1
		if k < 0 || k >= len(l.msgs) || l.msgs[k].sender.Load() != int32(i+1) {
			l.w.unexpected.Add(1)
			return
		}
		m := &l.msgs[k]
		switch {
		case f.Type == wire.TypeAck && m.state.CompareAndSwap(msgPending, msgAcked):
			l.acked.Add(1)
			l.expected.Add(int64(l.size - 1))
			l.ack.record(i, time.Duration(now-m.sentAt.Load()))
		case f.Type == wire.TypeError && m.state.CompareAndSwap(msgPending, msgFailed):
			l.failed.Add(1)
			l.w.countKind(l.errKinds, phaseError{"publish", &wire.Error{Code: f.Code, Reason: f.Reason}})
		}
	case wire.TypeEvent:
		sent, idx, run, ok := parsePayload(f.Data)
		if !ok || run != l.w.cfg.RunID || int(idx) >= len(l.msgs) || f.Channel != l.channel(i) {
			l.w.unexpected.Add(1)
			return
		}
		m := &l.msgs[idx]
		sender := int(m.sender.Load()) - 1
		switch {
		case sender == i: // our own message, echoed to the sender's subscription
		case sender < 0 || sender/l.size != i/l.size:
			l.w.unexpected.Add(1)
		default:
			m.count.Add(1)
			storeMax(&m.last, now)
			l.received.Add(1)
			l.delivery.record(i, time.Duration(now-sent))
		}
	}
}

// maxLostRooms bounds the rooms a result names.
const maxLostRooms = 100

// result counts, for every acked message, the members that never got it.
func (l *roomLoad) result(res *workerResult) {
	res.Expected = l.expected.Load()
	res.LostByRoom = map[string]int64{}
	lossy := make([]bool, len(l.w.cfg.Rooms))
	for k := range l.sent.Load() {
		m := &l.msgs[k]
		if m.state.Load() != msgAcked {
			continue
		}
		missing := int64(l.size - 1 - int(m.count.Load()))
		if missing <= 0 {
			l.lastReceipt.record(0, time.Duration(m.last.Load()-m.sentAt.Load()))
			continue
		}
		res.Lost += missing
		sender := int(m.sender.Load()) - 1
		if !lossy[sender/l.size] {
			lossy[sender/l.size] = true
			res.LossRooms++
		}
		room := l.channel(sender)
		if _, named := res.LostByRoom[room]; named || len(res.LostByRoom) < maxLostRooms {
			res.LostByRoom[room] += missing
		}
	}
	l.w.mu.Lock()
	res.PublishErrorsByKind = l.errKinds
	l.w.mu.Unlock()
}
