package presence

import "errors"

// Sentinel errors; Store implementations wrap them, test with errors.Is.
var (
	ErrInvalid       = errors.New("presence: invalid argument")
	ErrStatusTooLong = errors.New("presence: status longer than 256 bytes")
	ErrTooManyUsers  = errors.New("presence: too many users in one query")
)
