package live

import "errors"

var (
	// ErrNotFound: no such stream key (or it is another user's).
	ErrNotFound = errors.New("live: stream key not found")
	// ErrExists: a key with this id, hash or stream name already exists.
	ErrExists = errors.New("live: stream key exists")
	// ErrRevoked: the key was revoked.
	ErrRevoked = errors.New("live: stream key revoked")
)
