package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrInvalidOptions is returned by Options.Validate and Open for a bad
// Options field. Store methods return the chat sentinels (chat.ErrNotFound
// and the others) wrapped with %w, and database failures wrapped with the
// "postgres: <method>:" prefix.
var ErrInvalidOptions = errors.New("postgres: invalid options")

// ErrInvalidQuery is returned by History for a query with more than one of
// Before, After and Around set (core/chat rejects those before it asks).
var ErrInvalidQuery = errors.New("postgres: invalid history query")

// SQLSTATE codes this package reacts to.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// pgCode returns the SQLSTATE of err, or "" when err does not come from the
// server.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isUniqueViolation reports whether err is a unique violation of constraint.
func isUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == codeUniqueViolation && pe.ConstraintName == constraint
}

// isTransient reports whether err is a conflict between transactions after
// which the whole transaction may simply be run again.
func isTransient(err error) bool {
	switch pgCode(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}
