package tuning

import "errors"

var (
	// ErrUnknownProfile: no embedded profile has that name.
	ErrUnknownProfile = errors.New("tuning: unknown profile")
	// ErrInvalidProfile: a profile file does not parse or validate.
	ErrInvalidProfile = errors.New("tuning: invalid profile")
	// ErrUnknownKey: no profile has an entry for that key.
	ErrUnknownKey = errors.New("tuning: no profile sets that key")
	// ErrBadValue: a value does not parse under its entry's rule.
	ErrBadValue = errors.New("tuning: bad value")
	// ErrNoSystemd: systemd is not the service manager of this host.
	ErrNoSystemd = errors.New("tuning: systemd not running")
	// ErrNoUnit: systemd has no such unit installed.
	ErrNoUnit = errors.New("tuning: unit not installed")
)
