package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/core/console"
	"github.com/salamhq/salam/core/live"
	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/edge"
	"github.com/salamhq/salam/ingest"
	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/devturn"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/sfu"
)

// config is the whole process configuration: a YAML file (--config), then
// SALAM_* environment variables, then flags, each overriding the last.
// deploy/salam.sample.yaml lists every key with its default.
type config struct {
	Data     string              `yaml:"data"`      // data directory; default ./salam-data
	LogLevel string              `yaml:"log_level"` // debug, info, warn, error; default info
	Edge     edge.Config         `yaml:"edge"`
	Auth     auth.Config         `yaml:"auth"`
	NATS     bus.Config          `yaml:"nats"`
	Embedded bus.EmbeddedConfig  `yaml:"embedded_nats"`
	Chat     chat.Config         `yaml:"chat"`
	Presence presenceConfig      `yaml:"presence"`
	Calls    calls.Config        `yaml:"calls"`
	DevTURN  devturn.Config      `yaml:"dev_turn"` // a TURN/STUN server on loopback inside salam up
	SFU      sfu.Config          `yaml:"sfu"`      // the SFU node of salam sfu, and the in-process one of salam up
	Store    storeConfig         `yaml:"store"`
	Ingest   ingest.Config       `yaml:"ingest"`  // RTMP in, HLS out: salam up only (enabled there by default)
	Live     live.Config         `yaml:"live"`    // stream keys and live rooms (core)
	Console  console.Config      `yaml:"console"` // the operations console at /console (processes with core)
	Trace    observe.TraceConfig `yaml:"trace"`   // message-journey tracing
	Pprof    bool                `yaml:"pprof"`   // serve /debug/pprof/ (profiling) on the edge listener
	// GCPercent is the Go GC target (GOGC) of the process; 0 picks it by
	// role. With an edge, 50: an edge's heap is mostly long-lived idle
	// connections, and a lower target keeps garbage from handshakes off
	// their resident memory (3.4 instead of 3.9–4.2 KiB per idle
	// connection) for a little GC CPU. Core alone, 200: its live heap is a
	// few MB and all its garbage is per message, so a low target means a
	// collection every few MB (25 instead of 50 CPU-µs per message, see
	// BenchmarkSendTwoCoreProcesses). The GOGC environment variable, when
	// set, wins.
	GCPercent int `yaml:"gc_percent"`
}

// storeConfig picks the chat store: Postgres when PostgresURL is set,
// otherwise the embedded SQLite file in the data directory.
type storeConfig struct {
	PostgresURL string `yaml:"postgres_url"` // e.g. postgres://salam:secret@db:5432/salam; empty = embedded
	SQLitePath  string `yaml:"sqlite_path"`  // default <data>/salam.db
	Synchronous string `yaml:"synchronous"`  // embedded: NORMAL (survives process crashes, default) or FULL (power loss)
}

// presenceConfig picks the presence store: Redis when RedisAddr is set,
// otherwise in memory (one core process: the embedded default).
type presenceConfig struct {
	RedisAddr string          `yaml:"redis_addr"` // host:port (comma-separated seeds for a cluster); empty = in memory
	Service   presence.Config `yaml:"service"`
	// AnnounceMaxMembers: presence changes go to DMs and to groups whose
	// member cap is at most this; default 256. Each change is one frame
	// per member, so in big rooms presence would crowd out messages (20,000
	// users joining rooms of 1,000 is 20 M frames); clients there ask.
	AnnounceMaxMembers int `yaml:"announce_max_members"`
}

// parseConfig parses the shared flags of up/edge/core into a config.
func parseConfig(name string, args []string) (*config, error) {
	cfg := &config{Data: "./salam-data", LogLevel: "info"}
	cfg.Edge.ReusePort = true
	cfg.DevTURN.Enabled = name == "up" // development only: salam up runs it unless the config turns it off
	cfg.SFU.Loopback = name == "up"    // salam up's SFU gathers only 127.0.0.1 unless the config says otherwise
	cfg.Ingest.Enabled = name == "up"
	fs := flag.NewFlagSet("salam "+name, flag.ContinueOnError)
	file := fs.String("config", os.Getenv("SALAM_CONFIG"), "YAML config file (env SALAM_CONFIG)")
	listen := fs.String("listen", "", "HTTP + WebSocket address (env SALAM_LISTEN; default :8080)")
	data := fs.String("data", "", "data directory (env SALAM_DATA; default ./salam-data)")
	natsURLs := fs.String("nats", "", "external NATS URLs, comma-separated (env SALAM_NATS_URL); empty = embedded")
	redisAddr := fs.String("redis", "", "Redis address for presence (env SALAM_REDIS_ADDR); empty = in memory")
	postgres := fs.String("postgres", "", "Postgres URL for chat storage (env SALAM_POSTGRES_URL); empty = embedded SQLite in --data")
	natsListen := fs.String("nats-listen", "", "salam up: also expose the embedded NATS on this address (env SALAM_NATS_LISTEN)")
	secret := fs.String("auth-secret", "", "HS256 secret (env SALAM_AUTH_SECRET); default: the dev secret in --data")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (env SALAM_LOG_LEVEL)")
	udpPorts := fs.String("udp-ports", "", "SFU: ICE UDP port range min-max (env SALAM_SFU_UDP_PORTS); empty = any")
	natIPs := fs.String("nat-ips", "", "SFU: public IPs of a 1:1 NAT, comma-separated (env SALAM_SFU_NAT_IPS)")
	rtmp := fs.String("rtmp", "", "salam up: RTMP ingest address (env SALAM_RTMP_LISTEN; default :1935; off = no ingest)")
	hls := fs.String("hls", "", "salam up: HLS address (env SALAM_HLS_LISTEN; default :8888)")
	fs.BoolVar(&cfg.Pprof, "pprof", os.Getenv("SALAM_PPROF") != "", "serve /debug/pprof/ on the listener (env SALAM_PPROF=1); never on a public port")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *file != "" {
		raw, err := os.ReadFile(*file)
		if err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", *file, err)
		}
	}
	set := func(dst *string, flagValue, env string) {
		if v := os.Getenv(env); v != "" {
			*dst = v
		}
		if flagValue != "" {
			*dst = flagValue
		}
	}
	set(&cfg.Edge.Listen, *listen, "SALAM_LISTEN")
	set(&cfg.Data, *data, "SALAM_DATA")
	set(&cfg.Embedded.Listen, *natsListen, "SALAM_NATS_LISTEN")
	set(&cfg.Auth.Secret, *secret, "SALAM_AUTH_SECRET")
	set(&cfg.LogLevel, *logLevel, "SALAM_LOG_LEVEL")
	set(&cfg.Store.PostgresURL, *postgres, "SALAM_POSTGRES_URL")
	set(&cfg.Presence.RedisAddr, *redisAddr, "SALAM_REDIS_ADDR")
	var ports, ips string
	set(&ports, *udpPorts, "SALAM_SFU_UDP_PORTS")
	set(&ips, *natIPs, "SALAM_SFU_NAT_IPS")
	if ports != "" {
		lo, hi, ok := strings.Cut(ports, "-")
		min, err1 := strconv.ParseUint(lo, 10, 16)
		max, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("--udp-ports %q: want min-max", ports)
		}
		cfg.SFU.UDPPortMin, cfg.SFU.UDPPortMax = uint16(min), uint16(max)
	}
	if ips != "" {
		cfg.SFU.NAT1To1IPs = strings.Split(ips, ",")
	}
	set(&cfg.Ingest.RTMPListen, *rtmp, "SALAM_RTMP_LISTEN")
	set(&cfg.Ingest.HLSListen, *hls, "SALAM_HLS_LISTEN")
	if cfg.Ingest.RTMPListen == "off" {
		cfg.Ingest.Enabled, cfg.Ingest.RTMPListen = false, ""
	}
	var urls string
	set(&urls, *natsURLs, "SALAM_NATS_URL")
	if urls != "" {
		cfg.NATS.URLs = strings.Split(urls, ",")
	}
	cfg.Edge.EnsureDefaults()
	cfg.NATS.EnsureDefaults()
	if err := cfg.Edge.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.NATS.Validate(); err != nil {
		return nil, err
	}
	if cfg.Store.SQLitePath == "" {
		cfg.Store.SQLitePath = filepath.Join(cfg.Data, "salam.db")
	}
	cfg.Chat.EnsureDefaults()
	if err := cfg.Chat.Validate(); err != nil {
		return nil, err
	}
	if cfg.Presence.AnnounceMaxMembers == 0 {
		cfg.Presence.AnnounceMaxMembers = 256
	}
	if cfg.Presence.AnnounceMaxMembers < 2 {
		return nil, fmt.Errorf("presence: invalid config field announce_max_members (≥ 2)")
	}
	cfg.Presence.Service.EnsureDefaults()
	if err := cfg.Presence.Service.Validate(); err != nil {
		return nil, err
	}
	cfg.Calls.EnsureDefaults()
	if err := cfg.Calls.Validate(); err != nil {
		return nil, err
	}
	cfg.SFU.EnsureDefaults()
	if err := cfg.SFU.Validate(); err != nil {
		return nil, err
	}
	cfg.Console.EnsureDefaults()
	if err := cfg.Console.Validate(); err != nil {
		return nil, err
	}
	cfg.Trace.EnsureDefaults()
	if err := cfg.Trace.Validate(); err != nil {
		return nil, err
	}
	cfg.DevTURN.EnsureDefaults()
	if err := cfg.DevTURN.Validate(); err != nil {
		return nil, err
	}
	if cfg.Ingest.RecordDir == "" {
		cfg.Ingest.RecordDir = filepath.Join(cfg.Data, "recordings")
	}
	cfg.Ingest.EnsureDefaults()
	if err := cfg.Ingest.Validate(); err != nil {
		return nil, err
	}
	if cfg.Live.PublishBase == "" {
		cfg.Live.PublishBase = cfg.Ingest.PublishBase()
	}
	if cfg.Live.PlaybackBase == "" {
		cfg.Live.PlaybackBase = cfg.Ingest.PlaybackBase()
	}
	cfg.Live.EnsureDefaults()
	if err := cfg.Live.Validate(); err != nil {
		return nil, err
	}
	return cfg, cfg.Embedded.Validate()
}

// verifier builds the token verifier. Without configured keys it uses the
// development secret of the data directory, creating it on first start.
func (c *config) verifier() (*auth.Verifier, error) {
	if c.Auth.Secret == "" && c.Auth.PublicKeyFile == "" {
		secret, err := auth.LoadOrCreateDevSecret(c.Data)
		if err != nil {
			return nil, err
		}
		c.Auth.Secret = secret
	}
	return auth.NewVerifier(c.Auth)
}

// gcPercent is the configured GC target, or the role's (see GCPercent).
func (c *config) gcPercent(r roles) int {
	switch {
	case c.GCPercent != 0:
		return c.GCPercent
	case r.edge:
		return 50
	}
	return 200
}

func (c *config) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func cmdToken(args []string) error {
	fs := flag.NewFlagSet("salam token", flag.ContinueOnError)
	user := fs.String("user", "", "user id to put in the token's sub claim (required)")
	data := fs.String("data", envOr("SALAM_DATA", "./salam-data"), "data directory of the salam up that must accept the token")
	ttl := fs.Duration("ttl", 24*time.Hour, "token lifetime")
	admin := fs.Bool("admin", false, `add the admin role claim ("role": "admin"): the token opens the console at /console`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" {
		return fmt.Errorf("--user is required")
	}
	secret, err := auth.LoadOrCreateDevSecret(*data)
	if err != nil {
		return err
	}
	mint := auth.MintHS256
	if *admin {
		mint = auth.MintAdminHS256
	}
	token, err := mint(secret, *user, *ttl, "", "")
	if err != nil {
		return err
	}
	fmt.Println(token)
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
