package salam

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/salamhq/salam/sdk/go/wire"
)

// Call is a call as the server described it after an action.
type Call struct {
	ID           string
	Channel      string
	Caller       string    // who created (owns) the call
	Created      time.Time // when it was created
	Participants []string  // in the order they joined, the caller first
	SFU          bool      // the call runs through the SFU
	EndReason    CallEndReason
}

// CallEventKind is what happened to a call (PROTOCOL.md §4, 17).
type CallEventKind uint8

const (
	CallAccepted    = CallEventKind(wire.CallAccepted)    // From answered
	CallDeclined    = CallEventKind(wire.CallDeclined)    // From declined
	CallJoined      = CallEventKind(wire.CallJoined)      // From joined: wait for their offer
	CallLeft        = CallEventKind(wire.CallLeft)        // From left (you, when another connection of yours resumed the call)
	CallEnded       = CallEventKind(wire.CallEnded)       // the call is over: EndReason
	CallRinging     = CallEventKind(wire.CallRinging)     // From calls you in Channel: CallAccept or CallDecline
	CallEscalated   = CallEventKind(wire.CallEscalated)   // the call moved to the SFU (Participants)
	CallRingStopped = CallEventKind(wire.CallRingStopped) // ringing timed out; you may still CallJoin
	// CallResumed is made by the SDK: after a reconnect it re-joined the
	// call; send an ICE restart offer (OfferICERestart) to every other
	// participant.
	CallResumed CallEventKind = 100
)

// CallEndReason says why a call ended.
type CallEndReason uint8

const (
	EndHangup    = CallEndReason(wire.EndHangup)
	EndEmpty     = CallEndReason(wire.EndEmpty)
	EndCancelled = CallEndReason(wire.EndCancelled)
	EndDeclined  = CallEndReason(wire.EndDeclined)
	EndMissed    = CallEndReason(wire.EndMissed)
	EndLost      = CallEndReason(wire.EndLost)
)

// CallEvent is a call event, delivered to Config.OnCall.
type CallEvent struct {
	Kind         CallEventKind
	Call         string // the call id
	Channel      string
	From         string // who did it (the caller for ringing)
	Time         time.Time
	Participants []string // escalated, and CallResumed
	SFU          bool
	EndReason    CallEndReason // ended
}

// SignalKind is the frame a signal came in.
type SignalKind uint8

const (
	SignalOffer           = SignalKind(wire.TypeOffer)
	SignalAnswer          = SignalKind(wire.TypeAnswer)
	SignalCandidate       = SignalKind(wire.TypeCandidate)
	SignalEndOfCandidates = SignalKind(wire.TypeEndOfCandidates)
)

// OfferKind says why an offer is made.
type OfferKind uint8

const (
	OfferInitial     = OfferKind(wire.OfferInitial)     // the first offer of a pair, or a fresh start
	OfferICERestart  = OfferKind(wire.OfferICERestart)  // new ICE credentials: after a resume or a network change
	OfferRenegotiate = OfferKind(wire.OfferRenegotiate) // tracks added or removed
)

// Signal is WebRTC signaling relayed from another participant, delivered to
// Config.OnSignal. From empty means the SFU.
type Signal struct {
	Kind      SignalKind
	Call      string
	From      string
	Offer     OfferKind // SignalOffer
	SDP       string    // SignalOffer, SignalAnswer
	Candidate string    // SignalCandidate: the candidate attribute ("candidate:…")
	Mid       string    // SignalCandidate: its sdpMid
	Seq       uint64    // the sender's signal sequence (the SFU's own toward you, from 1); 0 for the SFU's answer
}

// CallError is a call the SDK could not resume after a reconnect, reported
// to Config.OnError; the SDK forgets the call.
type CallError struct {
	Call string
	Err  error
}

func (e *CallError) Error() string { return "salam: call " + e.Call + ": " + e.Err.Error() }
func (e *CallError) Unwrap() error { return e.Err }

// activeCall is a call this client takes part in: its signal sequence and
// the connection it is joined on. mu orders the call's signals.
type activeCall struct {
	mu  sync.Mutex
	seq uint64 // the last signal sequence used
	on  *conn
}

// CallCreate starts a call in channel and rings its other members. Not
// retried after a lost reply (a retry would start a second call).
func (c *Client) CallCreate(ctx context.Context, channel string) (Call, error) {
	return c.callAction(ctx, wire.Frame{Kind: wire.CallCreate, Channel: channel})
}

// CallAccept answers a call that rings for you and joins it; then offer
// (OfferInitial) to every other participant.
func (c *Client) CallAccept(ctx context.Context, call string) (Call, error) {
	return c.callAction(ctx, wire.Frame{Kind: wire.CallAccept, CallID: call})
}

// CallDecline refuses a call that rings for you.
func (c *Client) CallDecline(ctx context.Context, call string) (Call, error) {
	return c.callAction(ctx, wire.Frame{Kind: wire.CallDecline, CallID: call})
}

// CallCancel ends your call before anyone answered.
func (c *Client) CallCancel(ctx context.Context, call string) (Call, error) {
	return c.callAction(ctx, wire.Frame{Kind: wire.CallCancel, CallID: call})
}

// CallJoin joins an active call; then offer to every other participant.
// The SDK re-joins (resumes) the calls you are in after a reconnect by
// itself (CallResumed).
func (c *Client) CallJoin(ctx context.Context, call string) (Call, error) {
	return c.callAction(ctx, wire.Frame{Kind: wire.CallJoin, CallID: call})
}

// CallLeave leaves a call; the last participant leaving ends it.
func (c *Client) CallLeave(ctx context.Context, call string) (Call, error) {
	return c.callAction(ctx, wire.Frame{Kind: wire.CallLeave, CallID: call})
}

// CallEnd ends your call for everyone.
func (c *Client) CallEnd(ctx context.Context, call string) (Call, error) {
	return c.callAction(ctx, wire.Frame{Kind: wire.CallEnd, CallID: call})
}

// callAction sends a call action. Temporary refusals are retried; a lost
// reply only for join, the one action that can be repeated safely.
func (c *Client) callAction(ctx context.Context, f wire.Frame) (Call, error) {
	f.Type = wire.TypeCall
	for attempt := 1; ; attempt++ {
		cn, err := c.conn(ctx)
		if err != nil {
			return Call{}, err
		}
		g := f
		r, err := cn.request(ctx, &g)
		if err == nil {
			call := callOf(r)
			c.tookPart(call.ID, f.Kind, r.Seq, cn)
			return call, nil
		}
		var refused *Error
		if !retriable(err) || (!errors.As(err, &refused) && f.Kind != wire.CallJoin) {
			if errors.Is(err, ErrCallNotFound) {
				c.forgetCall(f.CallID)
			}
			return Call{}, err
		}
		if ctx.Err() != nil {
			return Call{}, context.Cause(ctx)
		}
		if refused != nil {
			if err := c.sleep(ctx, c.cfg.Backoff.Delay(attempt)); err != nil {
				return Call{}, err
			}
		}
	}
}

// tookPart records what an action did to this client's part in a call.
func (c *Client) tookPart(call string, action uint8, seq uint64, cn *conn) {
	switch action {
	case wire.CallCreate, wire.CallAccept, wire.CallJoin:
		c.mu.Lock()
		ac := c.calls[call]
		if ac == nil {
			ac = &activeCall{}
			c.calls[call] = ac
		}
		c.mu.Unlock()
		ac.mu.Lock()
		ac.seq, ac.on = seq, cn // the server's last sequence from us (a resume continues after it)
		ac.mu.Unlock()
	case wire.CallLeave, wire.CallEnd, wire.CallCancel:
		c.forgetCall(call)
	}
}

func (c *Client) forgetCall(call string) {
	c.mu.Lock()
	delete(c.calls, call)
	c.mu.Unlock()
}

// CallOffer sends an SDP offer to participant to. With to "" it offers to
// the SFU of an escalated call: when it returns nil, the SFU's answer has
// been handed to OnSignal (SignalAnswer, From ""), before any later SFU
// offer (see rooms.go).
func (c *Client) CallOffer(ctx context.Context, call, to string, kind OfferKind, sdp string) error {
	return c.signal(ctx, call, wire.Frame{Type: wire.TypeOffer, To: to, Kind: uint8(kind), Data: []byte(sdp)})
}

// CallAnswer sends the SDP answer to to's outstanding offer.
func (c *Client) CallAnswer(ctx context.Context, call, to, sdp string) error {
	return c.signal(ctx, call, wire.Frame{Type: wire.TypeAnswer, To: to, Data: []byte(sdp)})
}

// CallCandidate sends a trickle ICE candidate ("candidate:…", as
// RTCIceCandidate.candidate) with its sdpMid.
func (c *Client) CallCandidate(ctx context.Context, call, to, candidate, mid string) error {
	return c.signal(ctx, call, wire.Frame{Type: wire.TypeCandidate, To: to, Data: []byte(candidate), Mid: mid})
}

// CallEndOfCandidates says you gathered all your candidates for to.
func (c *Client) CallEndOfCandidates(ctx context.Context, call, to string) error {
	return c.signal(ctx, call, wire.Frame{Type: wire.TypeEndOfCandidates, To: to})
}

// signal sends one signaling frame with the call's next signal sequence,
// in order with the call's other signals. A lost ack is retried with the
// same sequence (the server answers a repeat with 306, which means it took
// it); rate limiting or an unavailable SFU with the next one, since a
// refused frame uses up its number. It is not carried over a reconnect:
// until the SDK resumed the call on the new connection it returns
// ErrDisconnected, and after CallResumed you send ICE restart offers.
// ErrPeerReconnecting is returned at once: that peer resumes with its own
// ICE restart.
func (c *Client) signal(ctx context.Context, call string, f wire.Frame) error {
	c.mu.Lock()
	ac, cn := c.calls[call], c.cur
	c.mu.Unlock()
	if ac == nil {
		return &Error{Code: wire.CodeNotInCall, Reason: "not in call " + call + " on this client"}
	}
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if cn == nil || ac.on != cn {
		return ErrDisconnected
	}
	f.CallID = call
	if toSFU(&f) {
		c.sfu.begin(call)
		defer c.sfu.end(call, c.q)
	}
	ac.seq++
	for attempt := 1; ; attempt++ {
		g := f
		g.Seq = ac.seq
		_, err := cn.request(ctx, &g)
		var refused *Error
		switch {
		case err == nil || errors.Is(err, ErrDuplicate):
			return nil
		case errors.Is(err, ErrRequestTimeout):
			continue // same sequence
		case errors.As(err, &refused) && refused.Temporary() && refused.Code != wire.CodePeerReconnecting:
			if err := c.sleep(ctx, c.cfg.Backoff.Delay(attempt)); err != nil {
				return err
			}
			ac.seq++
		default:
			return err
		}
	}
}

// rejoin resumes, on a new connection, every call this client is in.
func (c *Client) rejoin(cn *conn) {
	defer c.wg.Done()
	c.mu.Lock()
	var ids []string
	for id, ac := range c.calls {
		if ac.on != cn {
			ids = append(ids, id)
		}
	}
	c.mu.Unlock()
	for _, id := range ids {
		for attempt := 1; ; attempt++ {
			f := wire.Frame{Type: wire.TypeCall, Kind: wire.CallJoin, CallID: id}
			r, err := cn.request(cn.ctx, &f)
			if err == nil {
				c.tookPart(id, wire.CallJoin, r.Seq, cn)
				ev := callEventOf(r)
				ev.Kind = CallResumed
				c.q.push(item{kind: itemCall, call: ev})
				break
			}
			if cn.ctx.Err() != nil || errors.Is(err, ErrDisconnected) {
				return // the next connection tries again
			}
			var refused *Error
			if errors.As(err, &refused) && refused.Temporary() || errors.Is(err, ErrRequestTimeout) {
				if c.sleep(cn.ctx, c.cfg.Backoff.Delay(attempt)) != nil {
					return
				}
				continue
			}
			c.forgetCall(id)
			c.q.push(item{kind: itemError, err: &CallError{Call: id, Err: err}})
			break
		}
	}
}

func callOf(f *wire.Frame) Call {
	return Call{ID: f.CallID, Channel: f.Channel, Caller: f.From, Created: millis(f.Time),
		Participants: slices.Clone(f.Users), SFU: f.SFU, EndReason: CallEndReason(f.EndReason)}
}

func callEventOf(f *wire.Frame) CallEvent {
	return CallEvent{Kind: CallEventKind(f.Kind), Call: f.CallID, Channel: f.Channel, From: f.From,
		Time: millis(f.Time), Participants: slices.Clone(f.Users), SFU: f.SFU, EndReason: CallEndReason(f.EndReason)}
}

func signalOf(f *wire.Frame) Signal {
	s := Signal{Kind: SignalKind(f.Type), Call: f.CallID, From: f.From, Seq: f.Seq}
	switch f.Type {
	case wire.TypeOffer:
		s.Offer, s.SDP = OfferKind(f.Kind), string(f.Data)
	case wire.TypeAnswer:
		s.SDP = string(f.Data)
	case wire.TypeCandidate:
		s.Candidate, s.Mid = string(f.Data), f.Mid
	}
	return s
}

// errReplaced marks a left event sent to the connection whose session a
// resume elsewhere replaced (it carries sid).
var errReplaced = errors.New("salam: call resumed on another connection")

func sessionGone(f *wire.Frame) error {
	if f.Kind == wire.CallLeft && f.Session != "" {
		return errReplaced
	}
	return nil
}
