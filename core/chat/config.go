package chat

import (
	"fmt"
	"time"
)

// Config of the chat service. Zero fields take the default beside them.
type Config struct {
	MaxBatch         int           `yaml:"max_batch"`          // sends committed in one store transaction; default 256
	BatchWait        time.Duration `yaml:"batch_wait"`         // longest a send waits for others to share its transaction; default 2ms
	MaxBody          int           `yaml:"max_body"`           // message body bytes; default 64 KiB
	MaxClientID      int           `yaml:"max_client_id"`      // client message id bytes; default 64
	DefaultMemberCap int           `yaml:"default_member_cap"` // member cap of new groups; default 256
	AccessCacheTTL   time.Duration `yaml:"access_cache_ttl"`   // how long a membership answer is reused; default 30s
	// RequestConcurrency bounds the subscribe, history and receipt requests
	// one core process serves at once; default 64.
	RequestConcurrency int `yaml:"request_concurrency"`
}

// EnsureDefaults fills zero fields.
func (c *Config) EnsureDefaults() {
	if c.MaxBatch == 0 {
		c.MaxBatch = 256
	}
	if c.BatchWait == 0 {
		c.BatchWait = 2 * time.Millisecond
	}
	if c.MaxBody == 0 {
		c.MaxBody = 64 << 10
	}
	if c.MaxClientID == 0 {
		c.MaxClientID = 64
	}
	if c.DefaultMemberCap == 0 {
		c.DefaultMemberCap = 256
	}
	if c.AccessCacheTTL == 0 {
		c.AccessCacheTTL = 30 * time.Second
	}
	if c.RequestConcurrency == 0 {
		c.RequestConcurrency = 64
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	switch {
	case c.MaxBatch < 1 || c.MaxBatch > 10000:
		return fmt.Errorf("chat: invalid config field max_batch (1–10000)")
	case c.BatchWait < 0 || c.BatchWait > time.Second:
		return fmt.Errorf("chat: invalid config field batch_wait (0–1s)")
	case c.MaxBody < 1:
		return fmt.Errorf("chat: invalid config field max_body")
	case c.MaxClientID < 1:
		return fmt.Errorf("chat: invalid config field max_client_id")
	case c.DefaultMemberCap < 2:
		return fmt.Errorf("chat: invalid config field default_member_cap (≥ 2)")
	case c.AccessCacheTTL < 0:
		return fmt.Errorf("chat: invalid config field access_cache_ttl")
	case c.RequestConcurrency < 1 || c.RequestConcurrency > 4096:
		return fmt.Errorf("chat: invalid config field request_concurrency (1–4096)")
	}
	return nil
}
