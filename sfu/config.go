package sfu

import (
	"fmt"
	"net"
	"time"

	"github.com/salamhq/salam/internal/bus"
)

// Config of one SFU node. Zero fields take the default beside them.
type Config struct {
	Disabled           bool          `yaml:"disabled"`             // salam up: run no SFU in process (salam sfu always runs one)
	NodeID             string        `yaml:"node_id"`              // this node's id, letters and digits; default random per start
	UDPPortMin         uint16        `yaml:"udp_port_min"`         // lowest UDP port for ICE; 0 with udp_port_max 0 = any ephemeral port
	UDPPortMax         uint16        `yaml:"udp_port_max"`         // highest UDP port for ICE (inclusive); default 0 = any
	UDPPort            uint16        `yaml:"udp_port"`             // one UDP port shared by every peer connection (ICE UDP mux); default 0 = off, a port per peer connection from udp_port_min–udp_port_max
	BatchWriteSize     int           `yaml:"batch_write_size"`     // udp_port's writes are batched (sendmmsg), sent when full or after batch_write_interval; default 64 packets with udp_port, 1 = no batching
	BatchWriteInterval time.Duration `yaml:"batch_write_interval"` // longest a packet waits in a batch; default 1ms with udp_port
	NAT1To1IPs         []string      `yaml:"nat_1to1_ips"`         // public IPs announced as host candidates (1:1 NAT, e.g. a cloud VM's public IP); empty = the interfaces' own
	Loopback           bool          `yaml:"loopback"`             // gather only 127.0.0.1, mDNS off: development and tests on one machine (salam up)
	MaxRooms           int           `yaml:"max_rooms"`            // rooms this node holds at once; default 1000 (unavailable over it)
	MaxParticipants    int           `yaml:"max_participants"`     // per room on this node (a spread room's participants of other nodes do not count); default 100
	PLIInterval        time.Duration `yaml:"pli_interval"`         // least time between keyframe requests to one publisher track; default 500ms
	Heartbeat          time.Duration `yaml:"heartbeat"`            // how often the node announces itself and its load; default 2s
	SpeakerInterval    time.Duration `yaml:"speaker_interval"`     // how often active speakers are computed and announced on change; default 500ms
}

// EnsureDefaults fills zero fields.
func (c *Config) EnsureDefaults() {
	if c.NodeID == "" {
		c.NodeID = randomID()
	}
	if c.UDPPort != 0 {
		setDefault(&c.BatchWriteSize, 64)
		setDefault(&c.BatchWriteInterval, time.Millisecond)
	}
	setDefault(&c.MaxRooms, 1000)
	setDefault(&c.MaxParticipants, 100)
	setDefault(&c.PLIInterval, 500*time.Millisecond)
	setDefault(&c.Heartbeat, 2*time.Second)
	setDefault(&c.SpeakerInterval, 500*time.Millisecond)
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	ipsOK := true
	for _, ip := range c.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			ipsOK = false
		}
	}
	checks := []struct {
		ok    bool
		field string
	}{
		{len(c.NodeID) <= 16 && bus.ValidNode(c.NodeID), "node_id (1–16 letters and digits)"},
		{(c.UDPPortMin == 0 && c.UDPPortMax == 0) || (c.UDPPortMin > 0 && c.UDPPortMax >= c.UDPPortMin), "udp_port_min/udp_port_max (both 0, or 1 ≤ min ≤ max)"},
		{c.UDPPort == 0 || c.UDPPortMax == 0, "udp_port (not with udp_port_min/udp_port_max)"},
		{c.UDPPort == 0 || (c.BatchWriteSize >= 1 && c.BatchWriteSize <= 1024), "batch_write_size (1–1024)"},
		{c.UDPPort == 0 || c.BatchWriteSize == 1 || (c.BatchWriteInterval >= 100*time.Microsecond && c.BatchWriteInterval <= 100*time.Millisecond), "batch_write_interval (100µs–100ms)"},
		{ipsOK, "nat_1to1_ips (IP addresses)"},
		{c.MaxRooms >= 1, "max_rooms (≥ 1)"},
		{c.MaxParticipants >= 2 && c.MaxParticipants <= 10000, "max_participants (2–10000)"},
		{c.PLIInterval >= 10*time.Millisecond, "pli_interval (≥ 10ms)"},
		{c.Heartbeat >= 100*time.Millisecond, "heartbeat (≥ 100ms)"},
		{c.SpeakerInterval >= 50*time.Millisecond, "speaker_interval (≥ 50ms)"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return fmt.Errorf("%w %s", ErrConfig, ch.field)
		}
	}
	return nil
}
