package calls

import (
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/sdp/v3"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// signal checks one signaling frame against the call's state machine
// (PROTOCOL.md §4, Signaling: the order of the checks is the protocol's)
// and relays it to its target.
func (s *Service) signal(c *call, m *nats.Msg, req *bus.Request, f *wire.Frame) {
	code, reason := s.checkSignal(c, req, f)
	if code != 0 {
		s.reply(m, errorFrame(f, code, reason))
		return
	}
	if f.To == "" { // to the SFU, which answers the client itself
		s.toSFU(c, m, req, f, m.Data)
		return
	}
	to := c.participant(f.To)
	out := &wire.Frame{Type: f.Type, Data: f.Data, Seq: f.Seq, From: req.User, Session: to.session,
		Kind: f.Kind, CallID: c.id, Mid: f.Mid}
	s.send(to.user, to.session, req.Received, out)
	s.reply(m, &wire.Frame{Type: wire.TypeAck, CallID: c.id})
}

// checkSignal returns the code refusing f, or 0 when it is relayed; a
// relayed frame has changed the pair's state.
func (s *Service) checkSignal(c *call, req *bus.Request, f *wire.Frame) (wire.Code, string) {
	from := c.participant(req.User)
	switch {
	case from == nil || from.session != req.Session || from.gone:
		return wire.CodeNotInCall, "join the call first"
	case f.To == "" && !c.sfu, f.To == req.User:
		return wire.CodeTargetNotInCall, "no such participant"
	case f.To != "" && c.participant(f.To) == nil:
		return wire.CodeTargetNotInCall, f.To + " is not in the call"
	case f.Seq == 0:
		return wire.CodeBadFrame, "a signal needs its sequence s"
	case f.Seq <= from.lastSeq:
		return wire.CodeDuplicate, "signal sequence already taken"
	case f.Seq > from.lastSeq+1:
		return wire.CodeOutOfOrder, "signal sequence gap"
	}
	from.lastSeq = f.Seq // in order: the number is used up, whatever follows
	if code, reason := s.checkPayload(from, f); code != 0 {
		return code, reason
	}
	if f.To == "" {
		return 0, ""
	}
	if to := c.participant(f.To); to.gone {
		return wire.CodePeerReconnecting, f.To + " is reconnecting"
	}
	p := c.pairOf(req.User, f.To)
	switch f.Type {
	case wire.TypeOffer:
		switch {
		case f.Kind != wire.OfferInitial && !p.negotiated:
			return wire.CodeOutOfOrder, "no completed negotiation to restart or renegotiate"
		case f.Kind == wire.OfferInitial && c.sfu:
			return wire.CodeSFUMode, "the call runs through the SFU"
		case p.offerFrom == f.To && !c.impolite(req.User, f.To):
			return wire.CodeGlare, f.To + " offered first: roll back and answer"
		}
		p.offerFrom, p.offerSeen = req.User, true
	case wire.TypeAnswer:
		if p.offerFrom != f.To {
			return wire.CodeNoOffer, "no outstanding offer from " + f.To
		}
		p.offerFrom, p.negotiated = "", true
	default: // candidate, end of candidates
		if !p.offerSeen {
			return wire.CodeOutOfOrder, "no offer yet between you"
		}
	}
	return 0, ""
}

// checkPayload applies the limits and format checks of a signal's data.
func (s *Service) checkPayload(from *participant, f *wire.Frame) (wire.Code, string) {
	switch f.Type {
	case wire.TypeOffer, wire.TypeAnswer:
		if len(f.Data) > s.cfg.MaxSDPBytes {
			return wire.CodeTooLarge, "SDP larger than allowed"
		}
		if f.Type == wire.TypeOffer && f.Kind > wire.OfferRenegotiate {
			return wire.CodeBadFrame, "unknown offer kind"
		}
		if reason := checkSDP(f.Data); reason != "" {
			return wire.CodeBadSDP, reason
		}
	case wire.TypeCandidate:
		if len(f.Data) > s.cfg.MaxCandidateBytes || len(f.Mid) > 64 {
			return wire.CodeTooLarge, "candidate larger than allowed"
		}
		if !from.candidates.Allow(time.Now().UnixNano(), s.cfg.CandidateRate, s.cfg.CandidateBurst) {
			return wire.CodeRateLimited, "too many candidates"
		}
		if reason := checkCandidate(f.Data); reason != "" {
			return wire.CodeBadSDP, reason
		}
	case wire.TypeEndOfCandidates:
		if len(f.Data) != 0 {
			return wire.CodeBadFrame, "end of candidates carries no data"
		}
	}
	return 0, ""
}

// checkSDP returns why data is not a usable WebRTC session description, or "".
func checkSDP(data []byte) string {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(data)); err != nil {
		return "SDP does not parse"
	}
	if len(sd.MediaDescriptions) == 0 {
		return "SDP has no media section"
	}
	has := func(key string) bool {
		if _, ok := sd.Attribute(key); ok {
			return true
		}
		for _, md := range sd.MediaDescriptions {
			if _, ok := md.Attribute(key); ok {
				return true
			}
		}
		return false
	}
	for _, key := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
		if !has(key) {
			return "SDP lacks a=" + key
		}
	}
	return ""
}

// checkCandidate returns why data is not an ICE candidate attribute, or "".
func checkCandidate(data []byte) string {
	for _, b := range data {
		if b < 0x20 || b > 0x7e {
			return "candidate has control or non-ASCII bytes"
		}
	}
	value, ok := strings.CutPrefix(string(data), "candidate:")
	fields := strings.Fields(value)
	if !ok || len(fields) < 8 || fields[6] != "typ" {
		return "not a candidate attribute"
	}
	return ""
}
