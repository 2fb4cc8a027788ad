package salam_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	salam "github.com/salamhq/salam/sdk/go"
)

// testSDP is the offer of PROTOCOL.md's examples: enough for the server's checks.
const testSDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:F7gI\r\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n" +
	"a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n" +
	"a=setup:actpass\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n"

const testCandidate = "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"

// calls records call events and signals.
type calls struct {
	mu      sync.Mutex
	events  []salam.CallEvent
	signals []salam.Signal
	errs    []error
}

func (r *calls) tweak(c *salam.Config) {
	c.OnCall = func(e salam.CallEvent) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
	c.OnSignal = func(s salam.Signal) { r.mu.Lock(); r.signals = append(r.signals, s); r.mu.Unlock() }
	c.OnError = func(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }
}

func (r *calls) event(t *testing.T, kind salam.CallEventKind) salam.CallEvent {
	t.Helper()
	var ev salam.CallEvent
	waitFor(t, 30*time.Second, "call event", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		i := slices.IndexFunc(r.events, func(e salam.CallEvent) bool { return e.Kind == kind })
		if i >= 0 {
			ev = r.events[i]
		}
		return i >= 0
	})
	return ev
}

func (r *calls) has(kind salam.CallEventKind) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.events, func(e salam.CallEvent) bool { return e.Kind == kind })
}

// signal waits for the n-th signal (from 1).
func (r *calls) signal(t *testing.T, n int) salam.Signal {
	t.Helper()
	var s salam.Signal
	waitFor(t, 10*time.Second, "signal", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.signals) >= n {
			s = r.signals[n-1]
		}
		return len(r.signals) >= n
	})
	return s
}

// A call between two SDK clients against salam up: create, ringing,
// accept, offer, answer, candidate and end of candidates relayed, typed
// refusals, leave and end.
func TestCall(t *testing.T) {
	up := startSalam(t, t.TempDir(), "up", "--listen", "127.0.0.1:0")
	aliceTok, bobTok := up.token(t, "alice"), up.token(t, "bob")
	up.group(t, "team", aliceTok, bobTok)
	var ca, cb calls
	alice := dial(t, up.url(), aliceTok, new(recorder), ca.tweak)
	bob := dial(t, up.url(), bobTok, new(recorder), cb.tweak)
	ctx := ctxFor(t, 60*time.Second)

	call, err := alice.CallCreate(ctx, "team")
	if err != nil || call.ID == "" || call.Caller != "alice" || call.Channel != "team" || !slices.Equal(call.Participants, []string{"alice"}) {
		t.Fatalf("create: %+v, %v", call, err)
	}
	ring := cb.event(t, salam.CallRinging)
	if ring.Call != call.ID || ring.From != "alice" || ring.Channel != "team" {
		t.Fatalf("ringing: %+v", ring)
	}
	acc, err := bob.CallAccept(ctx, call.ID)
	if err != nil || !slices.Equal(acc.Participants, []string{"alice", "bob"}) {
		t.Fatalf("accept: %+v, %v", acc, err)
	}
	if ev := ca.event(t, salam.CallAccepted); ev.From != "bob" || ev.Call != call.ID {
		t.Fatalf("accepted: %+v", ev)
	}
	if _, err := alice.CallCancel(ctx, call.ID); !errors.Is(err, salam.ErrWrongState) {
		t.Fatalf("cancel after an answer: %v, want ErrWrongState", err)
	}
	if err := alice.CallAnswer(ctx, call.ID, "bob", testSDP); !errors.Is(err, salam.ErrNoOffer) {
		t.Fatalf("answer without an offer: %v, want ErrNoOffer", err)
	}

	// The joiner offers; the caller answers; trickle ICE.
	if err := bob.CallOffer(ctx, call.ID, "alice", salam.OfferInitial, testSDP); err != nil {
		t.Fatal(err)
	}
	if s := ca.signal(t, 1); s.Kind != salam.SignalOffer || s.From != "bob" || s.Call != call.ID || s.Offer != salam.OfferInitial || s.SDP != testSDP {
		t.Fatalf("offer: %+v", s)
	}
	if err := alice.CallAnswer(ctx, call.ID, "bob", testSDP); err != nil {
		t.Fatal(err)
	}
	if s := cb.signal(t, 1); s.Kind != salam.SignalAnswer || s.From != "alice" || s.SDP != testSDP {
		t.Fatalf("answer: %+v", s)
	}
	if err := bob.CallCandidate(ctx, call.ID, "alice", testCandidate, "0"); err != nil {
		t.Fatal(err)
	}
	if s := ca.signal(t, 2); s.Kind != salam.SignalCandidate || s.Candidate != testCandidate || s.Mid != "0" {
		t.Fatalf("candidate: %+v", s)
	}
	if err := bob.CallEndOfCandidates(ctx, call.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if s := ca.signal(t, 3); s.Kind != salam.SignalEndOfCandidates || s.From != "bob" {
		t.Fatalf("end of candidates: %+v", s)
	}
	if err := bob.CallOffer(ctx, call.ID, "carol", salam.OfferInitial, testSDP); !errors.Is(err, salam.ErrTargetNotInCall) {
		t.Fatalf("offer to a stranger: %v, want ErrTargetNotInCall", err)
	}

	if _, err := bob.CallLeave(ctx, call.ID); err != nil {
		t.Fatal(err)
	}
	if ev := ca.event(t, salam.CallLeft); ev.From != "bob" {
		t.Fatalf("left: %+v", ev)
	}
	if err := bob.CallCandidate(ctx, call.ID, "alice", testCandidate, "0"); !errors.Is(err, salam.ErrNotInCall) {
		t.Fatalf("signal after leaving: %v, want ErrNotInCall", err)
	}
	end, err := alice.CallEnd(ctx, call.ID)
	if err != nil || end.EndReason != salam.EndHangup {
		t.Fatalf("end: %+v, %v", end, err)
	}
	if _, err := alice.CallJoin(ctx, call.ID); !errors.Is(err, salam.ErrCallNotFound) {
		t.Fatalf("join an ended call: %v, want ErrCallNotFound", err)
	}
}

// Bob's edge is killed mid-call and restarted: his client reconnects,
// re-joins the call by itself (CallResumed) and sends an ICE restart with
// the signal sequence the server expects; alice never sees him leave.
func TestCallResumeAfterEdgeKilled(t *testing.T) {
	data := t.TempDir()
	up := startSalam(t, data, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	port := freePort(t)
	edge := startSalam(t, data, "edge", "--listen", port, "--nats", up.nats)
	aliceTok, bobTok := up.token(t, "alice"), up.token(t, "bob")
	up.group(t, "team", aliceTok, bobTok)
	var ca, cb calls
	alice := dial(t, up.url(), aliceTok, new(recorder), ca.tweak)
	bob := dial(t, edge.url(), bobTok, new(recorder), cb.tweak)
	ctx := ctxFor(t, 90*time.Second)

	call, err := alice.CallCreate(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	cb.event(t, salam.CallRinging)
	if _, err := bob.CallAccept(ctx, call.ID); err != nil {
		t.Fatal(err)
	}
	if err := bob.CallOffer(ctx, call.ID, "alice", salam.OfferInitial, testSDP); err != nil {
		t.Fatal(err)
	}
	ca.signal(t, 1)
	if err := alice.CallAnswer(ctx, call.ID, "bob", testSDP); err != nil {
		t.Fatal(err)
	}
	if err := bob.CallCandidate(ctx, call.ID, "alice", testCandidate, "0"); err != nil {
		t.Fatal(err)
	}
	ca.signal(t, 2)

	edge.kill()
	edge = startSalam(t, data, "edge", "--listen", port, "--nats", up.nats)
	ev := cb.event(t, salam.CallResumed)
	if ev.Call != call.ID || !slices.Equal(ev.Participants, []string{"alice", "bob"}) {
		t.Fatalf("resumed: %+v", ev)
	}
	if err := bob.CallOffer(ctx, call.ID, "alice", salam.OfferICERestart, testSDP); err != nil {
		t.Fatalf("ICE restart after the resume: %v", err)
	}
	if s := ca.signal(t, 3); s.Kind != salam.SignalOffer || s.Offer != salam.OfferICERestart || s.From != "bob" {
		t.Fatalf("restart offer: %+v", s)
	}
	if err := alice.CallAnswer(ctx, call.ID, "bob", testSDP); err != nil {
		t.Fatal(err)
	}
	if s := cb.signal(t, 2); s.Kind != salam.SignalAnswer {
		t.Fatalf("restart answer: %+v", s)
	}
	if ca.has(salam.CallLeft) || ca.has(salam.CallEnded) {
		t.Fatalf("alice saw bob leave: %+v", ca.events)
	}
	cb.mu.Lock()
	errs := cb.errs
	cb.mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("bob's errors: %v", errs)
	}
	if _, err := bob.CallLeave(ctx, call.ID); err != nil {
		t.Fatal(err)
	}
}
