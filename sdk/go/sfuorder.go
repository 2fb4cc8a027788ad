package salam

import (
	"sync"

	"github.com/salamhq/salam/sdk/go/wire"
)

// sfuOrder keeps the SFU's frames of a call in negotiation order for the
// app. The SFU answers a client's offer in the request's reply, but sends
// its own renegotiation offers as deliveries: the two take different bus
// paths and may reach the connection in either order. An app must apply
// the answer to its offer before the SFU's next offer, so while an offer
// of this client to the SFU of a call waits for its reply, the SFU's
// offers of that call are held, and handed to the dispatcher after the
// answer (which the read loop queues as soon as it arrives).
//
// mu guards both maps; the read loop takes it for every SFU offer, the
// signaling goroutine around an offer to the SFU.
type sfuOrder struct {
	mu       sync.Mutex
	offering map[string]int    // call → offers to its SFU awaiting their reply
	held     map[string][]item // call → SFU offers that arrived meanwhile, in order
}

// begin marks an offer to call's SFU as waiting for its reply.
func (o *sfuOrder) begin(call string) {
	o.mu.Lock()
	if o.offering == nil {
		o.offering, o.held = map[string]int{}, map[string][]item{}
	}
	o.offering[call]++
	o.mu.Unlock()
}

// end unmarks it and queues what was held once no offer of call waits.
func (o *sfuOrder) end(call string, q *queue) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.offering[call]--; o.offering[call] > 0 {
		return
	}
	delete(o.offering, call)
	for _, it := range o.held[call] {
		q.push(it)
	}
	delete(o.held, call)
}

// push queues it, or holds it when it is an SFU offer of a call whose own
// offer to the SFU waits for its reply.
func (o *sfuOrder) push(it item, q *queue) {
	if it.kind == itemSignal && it.signal.Kind == SignalOffer && it.signal.From == "" {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.offering[it.signal.Call] > 0 {
			o.held[it.signal.Call] = append(o.held[it.signal.Call], it)
			return
		}
	}
	q.push(it)
}

// toSFU reports whether f is an offer to the SFU (no target).
func toSFU(f *wire.Frame) bool { return f.Type == wire.TypeOffer && f.To == "" }
