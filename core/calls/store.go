package calls

import (
	"context"
	"errors"
	"time"

	"github.com/salamhq/salam/core/chat"
)

// EndReason says why a call ended; it is stored as this text and shown as
// wire.EndHangup… on the WebSocket.
type EndReason string

const (
	EndHangup    EndReason = "hangup"    // the caller ended it
	EndEmpty     EndReason = "empty"     // the last participant left
	EndCancelled EndReason = "cancelled" // the caller cancelled before anyone answered
	EndDeclined  EndReason = "declined"  // everyone rung declined
	EndMissed    EndReason = "missed"    // nobody answered within the ring timeout
	EndLost      EndReason = "lost"      // the process holding the call stopped
)

// Call is the record of one call: the call history.
type Call struct {
	ID           string
	Channel      string
	Caller       string    // who created it; first participant, and the only one who may end it
	Node         string    // the core process that holds its live state
	SFU          bool      // escalated to the SFU
	CreatedAt    time.Time // UTC, microsecond precision
	AnsweredAt   time.Time // first join by someone other than the caller; zero = never answered
	EndedAt      time.Time // zero while active
	EndReason    EndReason // "" while active
	Participants []Participant
}

// Duration is how long the call was answered: AnsweredAt → EndedAt (or
// now while active), zero for an unanswered call.
func (c *Call) Duration(now time.Time) time.Duration {
	if c.AnsweredAt.IsZero() {
		return 0
	}
	end := c.EndedAt
	if end.IsZero() {
		end = now
	}
	return end.Sub(c.AnsweredAt)
}

// Participant is one user's presence in a call. A user who leaves and
// joins again keeps their first JoinedAt.
type Participant struct {
	User     string
	JoinedAt time.Time
	LeftAt   time.Time // zero while in the call
}

// Page selects calls of a channel, newest first: those created before the
// call (Before, BeforeID), or the newest when Before is zero.
type Page struct {
	Channel  string
	Before   time.Time
	BeforeID string
	Limit    int // 1–MaxPage
}

// MaxPage bounds one page of calls.
const MaxPage = 100

// Store is the durable record of calls. Implementations: storage/postgres
// and storage/sqlite; storage/callstest is the contract suite. Every method
// is safe for concurrent use. Times are kept in UTC with microsecond
// precision. Live call state (rings, signaling) is never stored: it lives
// in the process holding the call.
type Store interface {
	// CreateCall stores an active call and its Participants (usually the
	// caller alone). ErrExists when the id is taken.
	CreateCall(ctx context.Context, c Call) error
	// JoinCall records that user is in the call from at: a new participant
	// gets JoinedAt = at; one who had left gets LeftAt cleared. When user is
	// not the caller and the call was never answered, AnsweredAt = at.
	// ErrNotFound for no such call; ErrEnded for an ended call.
	JoinCall(ctx context.Context, id, user string, at time.Time) error
	// LeaveCall sets the participant's LeftAt; ErrNotFound when the call or
	// the participant does not exist. Leaving twice keeps the first time.
	LeaveCall(ctx context.Context, id, user string, at time.Time) error
	// EscalateCall marks the call SFU; ErrNotFound.
	EscalateCall(ctx context.Context, id string) error
	// EndCall sets EndedAt and EndReason, and LeftAt = at for participants
	// still in; ErrNotFound. Ending an ended call changes nothing.
	EndCall(ctx context.Context, id string, reason EndReason, at time.Time) error
	// Call returns a call with its participants in join order, or ErrNotFound.
	Call(ctx context.Context, id string) (Call, error)
	// ChannelCalls returns a page of the channel's calls, newest first (by
	// CreatedAt, then ID), each with its participants in join order.
	ChannelCalls(ctx context.Context, p Page) ([]Call, error)
	// ActiveCalls lists the calls of node that have not ended.
	ActiveCalls(ctx context.Context, node string) ([]Call, error)
}

// Store errors; implementations wrap them.
var (
	ErrNotFound = errors.New("calls: not found")
	ErrExists   = errors.New("calls: already exists")
	ErrEnded    = errors.New("calls: call ended")
)

// Members is what calls needs to know about channels: chat.Store has it.
// Only members (not banned) of a group or DM channel may call.
type Members interface {
	Channel(ctx context.Context, id string) (chat.Channel, error)
	Member(ctx context.Context, channel, user string) (chat.Member, error)
	Members(ctx context.Context, channel, after string, limit int) ([]chat.Member, error)
}

var _ Members = chat.Store(nil)
