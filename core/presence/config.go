package presence

import (
	"fmt"
	"time"

	"github.com/salamhq/salam/wire"
)

// Config of the presence service. Zero fields take the default beside them.
type Config struct {
	Window           time.Duration `yaml:"window"`            // coalescing window: at most one change per user per window; default 1s
	ExpireEvery      time.Duration `yaml:"expire_every"`      // how often presence left by crashed edges is expired; default 1s
	MaxQueryUsers    int           `yaml:"max_query_users"`   // distinct users one query may name (WebSocket and REST); default 100, at most 1000; more is error 200
	QueryConcurrency int           `yaml:"query_concurrency"` // WebSocket queries one core process answers at once; default 64
}

// EnsureDefaults fills zero fields.
func (c *Config) EnsureDefaults() {
	if c.Window == 0 {
		c.Window = time.Second
	}
	if c.ExpireEvery == 0 {
		c.ExpireEvery = time.Second
	}
	if c.MaxQueryUsers == 0 {
		c.MaxQueryUsers = 100
	}
	if c.QueryConcurrency == 0 {
		c.QueryConcurrency = 64
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	switch {
	case c.Window < time.Millisecond:
		return fmt.Errorf("presence: invalid config field window (≥ 1ms)")
	case c.ExpireEvery < time.Millisecond:
		return fmt.Errorf("presence: invalid config field expire_every (≥ 1ms)")
	case c.MaxQueryUsers < 1 || c.MaxQueryUsers > wire.MaxUsers: // a WebSocket frame carries at most wire.MaxUsers
		return fmt.Errorf("presence: invalid config field max_query_users (1–%d)", wire.MaxUsers)
	case c.QueryConcurrency < 1:
		return fmt.Errorf("presence: invalid config field query_concurrency (≥ 1)")
	}
	return nil
}
