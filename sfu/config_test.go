package sfu

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigUDPPort(t *testing.T) {
	cfg := Config{UDPPort: 7882}
	cfg.EnsureDefaults()
	if cfg.BatchWriteSize != 64 || cfg.BatchWriteInterval != time.Millisecond {
		t.Errorf("defaults with udp_port: %d, %v; want 64, 1ms", cfg.BatchWriteSize, cfg.BatchWriteInterval)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	off := Config{}
	off.EnsureDefaults()
	if off.BatchWriteSize != 0 || off.BatchWriteInterval != 0 {
		t.Errorf("defaults without udp_port: %d, %v; want 0, 0", off.BatchWriteSize, off.BatchWriteInterval)
	}
	for field, bad := range map[string]func(*Config){
		"udp_port (":             func(c *Config) { c.UDPPortMin, c.UDPPortMax = 50000, 50100 },
		"batch_write_size (":     func(c *Config) { c.BatchWriteSize = 5000 },
		"batch_write_interval (": func(c *Config) { c.BatchWriteInterval = time.Second },
	} {
		c := cfg
		bad(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: Validate = %v", field, err)
		}
	}
}
