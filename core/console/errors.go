package console

import "errors"

var (
	// ErrInvalidConfig wraps every Config.Validate error.
	ErrInvalidConfig = errors.New("console: invalid config")
	// ErrBadParam marks a console API parameter that failed validation.
	ErrBadParam = errors.New("console: invalid parameter")
)
