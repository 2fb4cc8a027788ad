package auth

import "errors"

// Verification errors. Every error returned by [Verifier.Verify] wraps
// exactly one of these (and, where the jwt library produced the failure, the
// jwt library's error too), so errors.Is works with both. The text of each
// sentinel is stable and safe to send to a client as a 401 reason.
var (
	ErrMissingToken = errors.New("auth: missing token")
	ErrMalformed    = errors.New("auth: malformed token")
	ErrAlgorithm    = errors.New("auth: algorithm not allowed")
	ErrBadSignature = errors.New("auth: bad signature")
	ErrExpired      = errors.New("auth: token expired")
	ErrNoExpiry     = errors.New("auth: token has no expiry")
	ErrNotYetValid  = errors.New("auth: token not valid yet")
	ErrIssuer       = errors.New("auth: issuer not accepted")
	ErrAudience     = errors.New("auth: audience not accepted")
	ErrNoSubject    = errors.New("auth: token has no subject")
	ErrBadSubject   = errors.New("auth: invalid subject")
)

// Setup errors, never caused by a client.
var (
	// ErrInvalidConfig is wrapped by [Config.Validate] and [NewVerifier]; the
	// message names the bad field by its YAML name.
	ErrInvalidConfig = errors.New("auth: invalid config")
	// ErrInvalidArgument is wrapped by [MintHS256] and
	// [LoadOrCreateDevSecret] when called with unusable arguments.
	ErrInvalidArgument = errors.New("auth: invalid argument")
	// ErrDevSecret is wrapped when an existing dev-secret file cannot be
	// used (bad content or permissions wider than 0600).
	ErrDevSecret = errors.New("auth: unusable dev secret file")
)
