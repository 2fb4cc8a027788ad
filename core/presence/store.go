package presence

import (
	"context"
	"time"
)

// Store keeps presence: for each user, which edges hold a live connection of
// theirs and until when, plus last seen, status text and invisible mode.
// Implementations: storage/redis (shared by every core process) and
// storage/memory (the embedded `salam up`); both pass the contract suite in
// storage/presencetest.
//
// # Model
//
// An entry (user, edge) → expiry says that edge holds at least one live
// connection of user. It is live while now < expiry. A user is online from
// the Beat that gives them their first entry until the Leave that removes
// their last one, or until Expire reports them because every entry expired.
// Get reports exactly that state and does not compare expiries with a clock:
// a user whose only edge crashed reads online until an Expire call reports
// them. Callers therefore run Expire at a short interval; a crashed edge's
// users turn offline within ttl + that interval of its last beat.
//
// Every offline→online transition is returned once, by the Beat that made
// it, and every online→offline transition once, by the Leave or Expire that
// made it, even with many callers in many processes. Feeding those returns
// to a Coalescer gives one change stream per user. (storage/redis has a
// backstop for when no Expire runs at all, which may skip an offline
// transition; see its package doc.)
//
// # Time
//
// Stores never read a clock for presence state: every transition takes its
// time as an argument (now, at), so tests and replays are deterministic, and
// all processes must pass times from roughly synchronised clocks. Times are
// kept with millisecond precision. (storage/redis also gives its keys TTLs,
// in Redis's own clock, as a backstop; see its package doc.)
//
// # Atomicity and ordering
//
// Each user's transition is atomic. A call naming many users is not atomic
// across them: on error, some users may have been recorded and others not,
// and the returned list still holds the transitions that were recorded (emit
// them, then retry the call: Beat and Leave are idempotent). Calls about one
// edge must be issued in order by that edge; the store keeps the last write
// per (user, edge). Every method is safe for concurrent use.
//
// Arguments are checked with ValidID, ValidTTL and ValidStatus; a bad one
// fails the whole call with an error wrapping ErrInvalid or ErrStatusTooLong
// before anything is written.
type Store interface {
	// Beat records that edge holds at least one live connection of each
	// user, valid until now+ttl. A user's entry for this edge is replaced
	// (a later beat with a shorter ttl shortens it); entries of other edges
	// that expired by now are dropped, without a transition.
	//
	// It returns, in the order of users, those who were offline before this
	// call and are now online. A user whose entries all expired but whom no
	// Expire has reported yet was still online and is not returned. A user
	// named twice is treated once. Cost: O(len(users)), independent of how
	// many connections each user has.
	Beat(ctx context.Context, edge string, users []string, ttl time.Duration, now time.Time) (cameOnline []string, err error)

	// Leave records that edge no longer holds any connection of each user;
	// at is the disconnect time. Entries of other edges that expired by at
	// are dropped: if none of the user's entries is live at at, the user
	// goes offline with LastSeen = at.
	//
	// It returns, in the order of users, those who went offline. A user
	// whose entry for edge is absent (never beaten, or already removed by
	// Leave or Expire) is unchanged and not returned.
	Leave(ctx context.Context, edge string, users []string, at time.Time) (wentOffline []string, err error)

	// Expire finds online users whose every entry expired (expiry ≤ now),
	// marks them offline with LastSeen = their latest expiry, and returns
	// their new states (Status and Invisible included). Each such transition
	// is returned by exactly one call, even with several callers in several
	// processes running concurrently.
	//
	// limit (≥ 1) bounds the work: at most limit candidates are examined,
	// so at most limit states are returned; users left over are found by
	// the next call. Users are examined roughly in expiry order; no order is
	// promised among the returned states.
	Expire(ctx context.Context, now time.Time, limit int) ([]State, error)

	// Get returns the state of each user, in the order of users. Unknown
	// users read offline with a zero LastSeen, empty Status and not
	// Invisible. Each user's state is read atomically; users are read
	// independently. The state is raw: apply Visible before showing it to
	// anyone but the user.
	Get(ctx context.Context, users []string) ([]State, error)

	// SetStatus sets status text (≤ MaxStatusLen bytes, "" clears it) and
	// invisible mode together, atomically, for a user online or not. They
	// survive going offline and coming back. It changes no online state and
	// returns no transition: the caller emits a change itself if it wants.
	SetStatus(ctx context.Context, user, status string, invisible bool) error
}
