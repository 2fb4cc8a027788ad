package edge

import (
	"slices"

	"github.com/nats-io/nats.go"
)

// order puts a channel's new-message events back in sequence order at this
// edge. Core commits a channel's messages in sequence order, but every core
// process publishes its own events, so two of them can overtake each other
// on the way here; and events published while this edge was cut off from
// NATS never arrive. An event that arrives ahead of a missing one is held
// for up to Config.ReorderWait. If the missing one comes, all go out in
// order; if not, the held events go out anyway and subscribers see the
// jump in sequence, which PROTOCOL.md tells them to fill with history. A
// late event that was never delivered still goes out; a repeat does not.
//
// One dispatch shard owns a channel's order: no lock.
type order struct {
	high     uint64 // highest sequence delivered; 0 before the first
	seen     [2]uint64
	held     map[uint64]*nats.Msg
	heldAt   int64 // unix nanos when the oldest held event arrived
	overflow bool  // held reached maxHeld: release at the next check
}

// seenWindow is how far below high order remembers what it delivered (the
// bits of seen: bit i is high−i).
const seenWindow = 128

// maxHeld bounds the events held per channel: past it they are released
// at once, as if ReorderWait had passed.
const maxHeld = 1024

// admit decides what to do with the event of message seq that arrived at
// now: deliver it (true) or not (false: held or a repeat). After a true,
// the caller delivers it and then calls next for held events that are now
// in order.
func (o *order) admit(seq uint64, m *nats.Msg, now int64) bool {
	switch {
	case o.high == 0 || seq == o.high+1:
		o.mark(seq)
		return true
	case seq <= o.high:
		if o.high-seq >= seenWindow {
			return true // too old to tell; a repeat is harmless, clients de-duplicate by sequence
		}
		i := o.high - seq
		if o.seen[i/64]&(1<<(i%64)) != 0 {
			return false
		}
		o.seen[i/64] |= 1 << (i % 64)
		return true // late, but never delivered
	}
	if _, dup := o.held[seq]; dup {
		return false
	}
	if o.held == nil {
		o.held = make(map[uint64]*nats.Msg)
	}
	if len(o.held) == 0 {
		o.heldAt = now
	}
	o.held[seq] = m
	o.overflow = len(o.held) >= maxHeld
	return false
}

// next returns the held event that is now in order, if any.
func (o *order) next() *nats.Msg {
	m := o.held[o.high+1]
	if m != nil {
		delete(o.held, o.high+1)
		o.mark(o.high + 1)
	}
	return m
}

// due reports whether held events waited long enough (or too many wait).
func (o *order) due(now, wait int64) bool {
	return len(o.held) > 0 && (o.overflow || now-o.heldAt >= wait)
}

// release gives up on the missing events: it returns every held event in
// sequence order, marked delivered.
func (o *order) release() []*nats.Msg {
	seqs := make([]uint64, 0, len(o.held))
	for s := range o.held {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	out := make([]*nats.Msg, len(seqs))
	for i, s := range seqs {
		out[i] = o.held[s]
		o.mark(s)
	}
	clear(o.held)
	o.overflow = false
	return out
}

// mark records seq as delivered; seq > high moves the window up.
func (o *order) mark(seq uint64) {
	if seq > o.high {
		d := seq - o.high
		switch {
		case o.high == 0 || d >= seenWindow:
			o.seen = [2]uint64{}
		case d >= 64:
			o.seen = [2]uint64{0, o.seen[0] << (d - 64)}
		default:
			o.seen = [2]uint64{o.seen[0] << d, o.seen[1]<<d | o.seen[0]>>(64-d)}
		}
		o.high = seq
	}
	i := o.high - seq
	o.seen[i/64] |= 1 << (i % 64)
}
