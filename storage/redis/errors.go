package redis

import "errors"

// Sentinel errors; test with errors.Is. Presence also returns the
// presence package's ErrInvalid and ErrStatusTooLong for bad arguments.
var (
	ErrInvalidOptions = errors.New("redis: invalid options")
	ErrInvalidLimit   = errors.New("redis: invalid rate limit")
	ErrReply          = errors.New("redis: unexpected reply")
	ErrUnsupported    = errors.New("redis: server version not supported")
)
