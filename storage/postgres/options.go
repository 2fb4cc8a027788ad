package postgres

import (
	"fmt"
	"strings"
)

// Default values of Options.
const (
	DefaultMaxConns = 16
	DefaultSchema   = "public"
)

// Options configures a Store. The zero value is valid.
type Options struct {
	// MaxConns bounds the connections of the store's pool (yaml:
	// "max_conns"). Zero: DefaultMaxConns. An Append holds one connection
	// for one round trip; the other methods for one to three.
	MaxConns int32 `yaml:"max_conns"`
	// Schema holds the store's tables (yaml: "schema"); it is created on
	// Open when missing and every connection's search_path names it.
	// Several stores (tests, tenants) may share a database in different
	// schemas. Empty: DefaultSchema. At most 63 bytes, not starting with
	// "pg_" (reserved by PostgreSQL).
	Schema string `yaml:"schema"`
}

// EnsureDefaults sets zero fields to their defaults.
func (o *Options) EnsureDefaults() {
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
}

// Validate reports the first invalid field by its yaml name. Zero fields
// are valid (they take their defaults).
func (o *Options) Validate() error {
	if o.MaxConns < 0 {
		return fmt.Errorf("%w: postgres.max_conns %d: want ≥ 0", ErrInvalidOptions, o.MaxConns)
	}
	if len(o.Schema) > 63 || strings.HasPrefix(o.Schema, "pg_") || strings.IndexByte(o.Schema, 0) >= 0 {
		return fmt.Errorf("%w: postgres.schema %q: want at most 63 bytes, no NUL, not starting with pg_", ErrInvalidOptions, o.Schema)
	}
	return nil
}
