package calls

import (
	"slices"
	"time"

	"github.com/salamhq/salam/internal/bucket"
	"github.com/salamhq/salam/wire"
)

// call is the live state of one call, owned by its shard's goroutine.
type call struct {
	id, channel, caller string
	created             time.Time
	answered            bool
	sfu                 bool
	sfuNode             string            // the SFU node its room is placed on (its home node); "" = not yet
	sfuParts            map[string]string // with calls.sfu_room_spread: the node of each participant placed (spread.go)
	members             map[string]bool   // channel members when the call started (not banned)
	ringing             map[string]bool   // members rung who have not answered
	parts               []*participant    // in join order: earlier is impolite (see pairOf)
	pairs               map[pairKey]*pair
	ringTimer           *time.Timer
	ended               EndReason // set when the call ended
}

// participant is one user in a call, on one connection (session).
type participant struct {
	user, session string
	gone          bool        // the connection dropped; within the reconnect grace
	grace         *time.Timer // ends the grace: then the others see a leave
	lastSeq       uint64      // last signal sequence taken from it
	candidates    bucket.Bucket
}

// pairKey names a pair of participants, lower user id first.
type pairKey struct{ a, b string }

func keyOf(x, y string) pairKey {
	if x > y {
		x, y = y, x
	}
	return pairKey{x, y}
}

// pair is the negotiation state between two participants.
type pair struct {
	offerFrom  string // user whose offer is outstanding; "" = stable
	offerSeen  bool   // an offer went through: candidates may flow
	negotiated bool   // an offer/answer exchange completed
}

func (c *call) participant(user string) *participant {
	for _, p := range c.parts {
		if p.user == user {
			return p
		}
	}
	return nil
}

// impolite reports whether user x is the impolite side toward y: the one
// who joined the call first.
func (c *call) impolite(x, y string) bool {
	for _, p := range c.parts {
		switch p.user {
		case x:
			return true
		case y:
			return false
		}
	}
	return false
}

func (c *call) pairOf(x, y string) *pair {
	k := keyOf(x, y)
	p := c.pairs[k]
	if p == nil {
		p = &pair{}
		c.pairs[k] = p
	}
	return p
}

func (c *call) users() []string {
	out := make([]string, len(c.parts))
	for i, p := range c.parts {
		out[i] = p.user
	}
	return out
}

// state is the reply to an action: the call as it is now.
func (c *call) state(kind uint8) *wire.Frame {
	return &wire.Frame{Type: wire.TypeCall, Channel: c.channel, From: c.caller, Time: c.created.UnixMilli(),
		Kind: kind, Users: c.users(), CallID: c.id, SFU: c.sfu}
}

// event is a call event caused by user from.
func (c *call) event(kind uint8, from string) *wire.Frame {
	return &wire.Frame{Type: wire.TypeCall, Channel: c.channel, From: from, Time: time.Now().UnixMilli(),
		Kind: kind, CallID: c.id}
}

// removePairs forgets the negotiation state of user with everyone.
func (c *call) removePairs(user string) {
	for k := range c.pairs {
		if k.a == user || k.b == user {
			delete(c.pairs, k)
		}
	}
}

// resetOffers drops the offers outstanding between user and the others:
// after a resume they were lost with the connection.
func (c *call) resetOffers(user string) {
	for k, p := range c.pairs {
		if k.a == user || k.b == user {
			p.offerFrom = ""
		}
	}
}

func (c *call) removeParticipant(user string) {
	c.parts = slices.DeleteFunc(c.parts, func(p *participant) bool {
		if p.user == user && p.grace != nil {
			p.grace.Stop()
		}
		return p.user == user
	})
	c.removePairs(user)
}
