package edge

import (
	"errors"
	"fmt"
	"time"
)

// Config of one edge process. Every field's zero value means "use the default"
// written beside it; EnsureDefaults fills them in and Validate names a bad field.
type Config struct {
	Listen    string `yaml:"listen"`     // HTTP + WebSocket address; default ":8080"
	ReusePort bool   `yaml:"reuse_port"` // set SO_REUSEPORT so several edge processes share Listen

	MaxConns           int           `yaml:"max_conns"`            // open connections per process; default 100000; over it the upgrade gets 503
	HandshakeTimeout   time.Duration `yaml:"handshake_timeout"`    // accept → complete HTTP request; default 5s (slowloris)
	ConnectTimeout     time.Duration `yaml:"connect_timeout"`      // upgrade → connect frame; default 10s (close 4002)
	MaxHeaderBytes     int           `yaml:"max_header_bytes"`     // HTTP request head; default 8 KiB (431 over it)
	MaxMessageBytes    int           `yaml:"max_message_bytes"`    // one WebSocket message (all fragments); default 64 KiB (close 1009)
	MaxBodyBytes       int           `yaml:"max_body_bytes"`       // plain HTTP request body; default 1 MiB (413 over it)
	MaxSubscriptions   int           `yaml:"max_subscriptions"`    // channels per connection; default 512
	AllowedOrigins     []string      `yaml:"allowed_origins"`      // exact origins or "https://*.example.com"; empty = any (requests without Origin always pass)
	OutboundQueue      int           `yaml:"outbound_queue"`       // bytes queued for a slow reader before close 4004; default 1 MiB
	WriteTimeout       time.Duration `yaml:"write_timeout"`        // a blocked write longer than this is a slow consumer; default 5s
	PingInterval       time.Duration `yaml:"ping_interval"`        // server WebSocket pings; default 20s
	HeartbeatTimeout   time.Duration `yaml:"heartbeat_timeout"`    // silence before close 4005; default 3×PingInterval
	FrameRate          float64       `yaml:"frame_rate"`           // inbound frames/s per connection (pings included); default 100
	FrameBurst         int           `yaml:"frame_burst"`          // default 200
	PublishRate        float64       `yaml:"publish_rate"`         // publishes/s per connection; default 20
	PublishBurst       int           `yaml:"publish_burst"`        // default 40
	UserPublishRate    float64       `yaml:"user_publish_rate"`    // publishes/s per user across its connections on this edge; default 50
	UserPublishBurst   int           `yaml:"user_publish_burst"`   // default 100
	PresenceQueryRate  float64       `yaml:"presence_query_rate"`  // presence queries/s per connection (each costs core a store read per user); default 5
	PresenceQueryBurst int           `yaml:"presence_query_burst"` // default 20
	UpgradeRate        float64       `yaml:"upgrade_rate"`         // WebSocket upgrades/s this process admits (503 + Retry-After over it): a reconnect storm's pace; default 2000
	UpgradeBurst       int           `yaml:"upgrade_burst"`        // default 4000
	IPUpgradeRate      float64       `yaml:"ip_upgrade_rate"`      // WebSocket upgrades/s per client address (429 over it); default 200 (carrier NAT puts many users behind one address)
	IPUpgradeBurst     int           `yaml:"ip_upgrade_burst"`     // default 2000
	AbuseLimit         int           `yaml:"abuse_limit"`          // rate-limit violations per AbuseWindow before close 4003; default 20
	AbuseWindow        time.Duration `yaml:"abuse_window"`         // default 10s
	DrainTimeout       time.Duration `yaml:"drain_timeout"`        // SIGTERM → reconnect frames → close 4006 after this; default 10s
	ReconnectAfter     time.Duration `yaml:"reconnect_after"`      // upper bound of the jittered reconnect hint; default 2s
	ReorderWait        time.Duration `yaml:"reorder_wait"`         // longest a message event waits here for an earlier one still on its way; default 200ms
	PresenceBeat       time.Duration `yaml:"presence_beat"`        // how often the edge reports all its users to core; presence lasts 3 beats; default 10s
	Workers            int           `yaml:"workers"`              // bounded pool that runs reads and fan-out; default 4096
	BufferSize         int           `yaml:"buffer_size"`          // smallest netpoll output buffer node per connection; default 256 (FINDINGS.md)
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	setDefault(&c.Listen, ":8080")
	setDefault(&c.MaxConns, 100000)
	setDefault(&c.HandshakeTimeout, 5*time.Second)
	setDefault(&c.ConnectTimeout, 10*time.Second)
	setDefault(&c.MaxHeaderBytes, 8<<10)
	setDefault(&c.MaxMessageBytes, 64<<10)
	setDefault(&c.MaxBodyBytes, 1<<20)
	setDefault(&c.MaxSubscriptions, 512)
	setDefault(&c.OutboundQueue, 1<<20)
	setDefault(&c.WriteTimeout, 5*time.Second)
	setDefault(&c.PingInterval, 20*time.Second)
	setDefault(&c.HeartbeatTimeout, 3*c.PingInterval)
	setDefault(&c.FrameRate, 100)
	setDefault(&c.FrameBurst, 200)
	setDefault(&c.PublishRate, 20)
	setDefault(&c.PublishBurst, 40)
	setDefault(&c.UserPublishRate, 50)
	setDefault(&c.UserPublishBurst, 100)
	setDefault(&c.PresenceQueryRate, 5)
	setDefault(&c.PresenceQueryBurst, 20)
	setDefault(&c.UpgradeRate, 2000)
	setDefault(&c.UpgradeBurst, 4000)
	setDefault(&c.IPUpgradeRate, 200)
	setDefault(&c.IPUpgradeBurst, 2000)
	setDefault(&c.AbuseLimit, 20)
	setDefault(&c.AbuseWindow, 10*time.Second)
	setDefault(&c.DrainTimeout, 10*time.Second)
	setDefault(&c.ReconnectAfter, 2*time.Second)
	setDefault(&c.ReorderWait, 200*time.Millisecond)
	setDefault(&c.PresenceBeat, 10*time.Second)
	setDefault(&c.Workers, 4096)
	setDefault(&c.BufferSize, 256)
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	checks := []struct {
		ok    bool
		field string
	}{
		{c.MaxConns > 0, "max_conns"},
		{c.HandshakeTimeout > 0, "handshake_timeout"},
		{c.ConnectTimeout > 0, "connect_timeout"},
		{c.MaxHeaderBytes >= 1024, "max_header_bytes (≥ 1024)"},
		{c.MaxMessageBytes >= 128 && c.MaxMessageBytes <= 16<<20, "max_message_bytes (128 B – 16 MiB)"},
		{c.MaxBodyBytes >= 0, "max_body_bytes"},
		{c.MaxSubscriptions > 0, "max_subscriptions"},
		{c.OutboundQueue >= c.MaxMessageBytes, "outbound_queue (≥ max_message_bytes)"},
		{c.WriteTimeout > 0, "write_timeout"},
		{c.PingInterval >= 100*time.Millisecond, "ping_interval (≥ 100ms)"},
		{c.HeartbeatTimeout > c.PingInterval, "heartbeat_timeout (> ping_interval)"},
		{c.FrameRate > 0 && c.FrameBurst > 0, "frame_rate/frame_burst"},
		{c.PublishRate > 0 && c.PublishBurst > 0, "publish_rate/publish_burst"},
		{c.UserPublishRate > 0 && c.UserPublishBurst > 0, "user_publish_rate/user_publish_burst"},
		{c.PresenceQueryRate > 0 && c.PresenceQueryBurst > 0, "presence_query_rate/presence_query_burst"},
		{c.UpgradeRate > 0 && c.UpgradeBurst > 0, "upgrade_rate/upgrade_burst"},
		{c.IPUpgradeRate > 0 && c.IPUpgradeBurst > 0, "ip_upgrade_rate/ip_upgrade_burst"},
		{c.AbuseLimit > 0 && c.AbuseWindow > 0, "abuse_limit/abuse_window"},
		{c.DrainTimeout > 0, "drain_timeout"},
		{c.ReorderWait >= time.Millisecond && c.ReorderWait <= 10*time.Second, "reorder_wait (1ms–10s)"},
		{c.PresenceBeat >= 100*time.Millisecond, "presence_beat (≥ 100ms)"},
		{c.Workers > 0, "workers"},
		{c.BufferSize >= 64, "buffer_size (≥ 64)"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return fmt.Errorf("edge: invalid config field %s", ch.field)
		}
	}
	for _, o := range c.AllowedOrigins {
		if o == "" {
			return errors.New("edge: invalid config field allowed_origins: empty entry")
		}
	}
	return nil
}
