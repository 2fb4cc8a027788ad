package presence

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// State is what presence knows about one user.
type State struct {
	User string
	// Online is true while at least one of the user's connections is live
	// on some edge (see Store for when that ends).
	Online bool
	// LastSeen is when the user was last known live: the disconnect time of
	// the last connection, or the expiry of the last edge entry when edges
	// stopped beating. Zero while online and for users never seen.
	// Millisecond precision, UTC.
	LastSeen time.Time
	// Status is free text set by the user, ≤ MaxStatusLen bytes of UTF-8.
	Status string
	// Invisible is the user's own "appear offline" choice; apply Visible
	// before showing a state to anyone but the user.
	Invisible bool
}

// Limits on what a Store accepts.
const (
	MaxStatusLen = 256 // bytes of Status
	MaxIDLen     = 256 // bytes of a user or edge id
)

// Visible returns s as other users may see it. An invisible user is shown
// offline with a zero LastSeen — neither "online" nor a last-seen time that
// moves while they use the app would leak — and with Invisible cleared, so
// that the choice itself is not disclosed. Status stays: it is text the user
// chose to publish. A visible state is returned unchanged.
//
// Coalesce what others see: pass Visible(s) to Coalescer.Observe, so an
// invisible user's connects and disconnects produce no events at all.
func Visible(s State) State {
	if !s.Invisible {
		return s
	}
	return State{User: s.User, Status: s.Status}
}

// Equal reports whether a and b describe the same state (times compared
// with time.Time.Equal).
func Equal(a, b State) bool {
	return a.User == b.User && a.Online == b.Online && a.LastSeen.Equal(b.LastSeen) &&
		a.Status == b.Status && a.Invisible == b.Invisible
}

// ValidStatus checks status text: at most MaxStatusLen bytes of valid UTF-8.
// The error wraps ErrStatusTooLong or ErrInvalid.
func ValidStatus(status string) error {
	if len(status) > MaxStatusLen {
		return fmt.Errorf("%w: %d bytes", ErrStatusTooLong, len(status))
	}
	if !utf8.ValidString(status) {
		return fmt.Errorf("%w: status is not valid UTF-8", ErrInvalid)
	}
	return nil
}

// ValidID checks a user or edge id: 1 to MaxIDLen bytes. what names the id
// in the error ("user", "edge"). Any bytes are allowed: backends must not
// give an id's characters a meaning (storage/redis builds hash tags from
// user ids and stays correct whatever they contain).
func ValidID(what, id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("%w: %s id must be 1–%d bytes, got %d", ErrInvalid, what, MaxIDLen, len(id))
	}
	return nil
}

// ValidTTL checks a Beat ttl: at least one millisecond (the precision of
// every Store).
func ValidTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("%w: ttl %v shorter than 1ms", ErrInvalid, ttl)
	}
	return nil
}
