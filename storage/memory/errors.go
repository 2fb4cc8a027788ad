package memory

import (
	"errors"
	"fmt"

	"github.com/salamhq/salam/core/presence"
)

// ErrInvalidLimit is returned by Limiter.Allow for an empty key, a rate that
// is not positive and finite, or a burst below 1.
var ErrInvalidLimit = errors.New("memory: invalid rate limit")

func errInvalidLimit(limit int) error {
	return fmt.Errorf("%w: Expire limit %d, want ≥ 1", presence.ErrInvalid, limit)
}
