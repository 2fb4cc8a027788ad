package sfu

import "errors"

// Sentinel errors.
var (
	ErrConfig  = errors.New("sfu: invalid config field")
	ErrNoCodec = errors.New("sfu: subscriber does not accept the publisher's codec")
	ErrClosed  = errors.New("sfu: node closed")
)
