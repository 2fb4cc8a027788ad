package relay

import "fmt"

// MaxWorkers bounds Config.Workers.
const MaxWorkers = 256

// Config configures the relay service. The zero value is valid.
type Config struct {
	// Workers is the number of subscriptions in the core queue group, each
	// handled by its own goroutine (yaml: "workers"). Zero: 1, which handles
	// requests in the order they arrive, so that publishes an edge sends in
	// order to one channel are numbered in that order. More workers handle
	// requests in parallel; sequences stay gap-free and events still leave
	// in sequence order, but two requests in flight at once may be numbered
	// in either order. At most MaxWorkers.
	Workers int `yaml:"workers"`
}

// EnsureDefaults sets zero fields to their defaults.
func (c *Config) EnsureDefaults() {
	if c.Workers == 0 {
		c.Workers = 1
	}
}

// Validate reports the first invalid field by its yaml name.
func (c *Config) Validate() error {
	if c.Workers < 0 || c.Workers > MaxWorkers {
		return fmt.Errorf("%w: relay.workers %d: want 0–%d", ErrInvalidConfig, c.Workers, MaxWorkers)
	}
	return nil
}
