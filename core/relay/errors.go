package relay

import "errors"

// Sentinel errors; test with errors.Is.
var (
	ErrInvalidConfig = errors.New("relay: invalid config")
	ErrStarted       = errors.New("relay: already started")
	ErrStopped       = errors.New("relay: stopped")
)
