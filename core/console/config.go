package console

import (
	"fmt"
	"time"
)

// Config is the console's configuration, the "console" section of the
// process config.
type Config struct {
	// Disabled turns the console off: /console and /console/api/* answer
	// 404. Default false (on, for admin tokens only).
	Disabled bool `yaml:"disabled"`
	// History is how much of the overview the charts keep; default 5m,
	// at most 1h (one point per node per second).
	History time.Duration `yaml:"history"`
	// Journeys is how many traced messages the journey ring keeps;
	// default 256, at most 65536.
	Journeys int `yaml:"journeys"`
	// StaleAfter is when a node that stopped reporting leaves the overview;
	// default 10s.
	StaleAfter time.Duration `yaml:"stale_after"`
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.History == 0 {
		c.History = 5 * time.Minute
	}
	if c.Journeys == 0 {
		c.Journeys = 256
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = 10 * time.Second
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	switch {
	case c.History < 10*time.Second || c.History > time.Hour:
		return fmt.Errorf("%w: history %v (10s..1h)", ErrInvalidConfig, c.History)
	case c.Journeys < 1 || c.Journeys > 65536:
		return fmt.Errorf("%w: journeys %d (1..65536)", ErrInvalidConfig, c.Journeys)
	case c.StaleAfter < 2*time.Second:
		return fmt.Errorf("%w: stale_after %v (≥ 2s)", ErrInvalidConfig, c.StaleAfter)
	}
	return nil
}
