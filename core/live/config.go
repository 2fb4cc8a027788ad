package live

import (
	"fmt"
	"time"
)

// Config configures core/live. Zero values mean the defaults named.
type Config struct {
	// GracePeriod: a room stays open this long after its publisher leaves,
	// so that a reconnecting encoder finds the same room; default 30s.
	GracePeriod time.Duration `yaml:"grace_period"`
	// PublishBase and PlaybackBase prefix the URLs the REST API hands out:
	// PublishBase + "/" + key and PlaybackBase + "/" + stream +
	// "/index.m3u8". Defaults rtmp://localhost:1935/live and
	// http://localhost:8888/live (salam up sets them from the ingest config).
	PublishBase  string `yaml:"publish_base"`
	PlaybackBase string `yaml:"playback_base"`
	// MaxKeysPerUser caps the valid keys of one user; default 20.
	MaxKeysPerUser int `yaml:"max_keys_per_user"`
}

// EnsureDefaults fills zero fields.
func (c *Config) EnsureDefaults() {
	if c.GracePeriod == 0 {
		c.GracePeriod = 30 * time.Second
	}
	if c.PublishBase == "" {
		c.PublishBase = "rtmp://localhost:1935/live"
	}
	if c.PlaybackBase == "" {
		c.PlaybackBase = "http://localhost:8888/live"
	}
	if c.MaxKeysPerUser == 0 {
		c.MaxKeysPerUser = 20
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	switch {
	case c.GracePeriod < 0:
		return fmt.Errorf("live: invalid config field grace_period (≥ 0)")
	case c.MaxKeysPerUser < 1:
		return fmt.Errorf("live: invalid config field max_keys_per_user (≥ 1)")
	}
	return nil
}

// PublishURL and PlaybackURL are the URLs of a key and of its stream.
func (c *Config) PublishURL(secret string) string { return c.PublishBase + "/" + secret }
func (c *Config) PlaybackURL(stream string) string {
	return c.PlaybackBase + "/" + stream + "/index.m3u8"
}
