package sqlite

import "errors"

// Errors of this package. What the chat.Store contract defines is returned
// as chat.ErrNotFound, chat.ErrExists, … wrapped with context (errors.Is
// works); database failures are wrapped as they come from the driver.
var (
	ErrInvalidOptions = errors.New("sqlite: invalid options")
	ErrInvalidPath    = errors.New("sqlite: invalid database path")
	ErrSchemaTooNew   = errors.New("sqlite: database schema is newer than this binary")
	ErrInvalidQuery   = errors.New("sqlite: invalid history query")
)
