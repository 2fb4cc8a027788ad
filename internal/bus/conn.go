package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Defaults applied by EnsureDefaults to zero fields of Config.
const (
	DefaultReconnectWait  = 250 * time.Millisecond
	DefaultRequestTimeout = 3 * time.Second
)

// reconnectBufSize bounds what a connection buffers while it reconnects;
// beyond it, publishes fail fast (and requests fail) instead of growing
// memory. 8 MiB is the nats.go default, stated here so it is a decision.
const reconnectBufSize = 8 << 20

// Config configures a client connection to NATS. The zero value connects to
// the embedded server with default timings.
type Config struct {
	// URLs are external NATS servers, e.g. "nats://10.0.0.1:4222" (yaml:
	// "urls"). Empty: connect in-process to the embedded server.
	URLs []string `yaml:"urls"`
	// Name is the connection name shown in NATS monitoring (yaml: "name").
	// Empty: none.
	Name string `yaml:"name"`
	// Token authenticates with a token (yaml: "token"). Empty: none.
	// Exclusive with User/Password and CredsFile.
	Token string `yaml:"token"`
	// User and Password authenticate with a user name (yaml: "user",
	// "password"). Empty: none. Exclusive with Token and CredsFile.
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	// CredsFile is a NATS .creds file holding a user JWT and nkey seed
	// (yaml: "creds_file"). Empty: none. Exclusive with Token and User.
	CredsFile string `yaml:"creds_file"`
	// ReconnectWait is the pause between reconnect attempts to the same
	// server, plus up to 100ms of jitter (1s over TLS) (yaml:
	// "reconnect_wait"). Zero: 250ms.
	// The connection retries forever.
	ReconnectWait time.Duration `yaml:"reconnect_wait"`
	// RequestTimeout bounds an edge→core request such as a publish (yaml:
	// "request_timeout"). Zero: 3s. Connect does not use it; the edge does.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// EnsureDefaults sets zero fields to their defaults.
func (c *Config) EnsureDefaults() {
	if c.ReconnectWait == 0 {
		c.ReconnectWait = DefaultReconnectWait
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
}

// Validate reports the first invalid field by its yaml name. Zero durations
// are valid (they mean the default).
func (c *Config) Validate() error {
	for i, u := range c.URLs {
		if err := validURL(u); err != nil {
			return fmt.Errorf("%w: bus.urls[%d] %q: %v", ErrInvalidConfig, i, u, err)
		}
	}
	auth := 0
	if c.Token != "" {
		auth++
	}
	if c.User != "" || c.Password != "" {
		auth++
	}
	if c.CredsFile != "" {
		auth++
	}
	switch {
	case auth > 1:
		return fmt.Errorf("%w: bus.token, bus.user/password and bus.creds_file are exclusive", ErrInvalidConfig)
	case c.Password != "" && c.User == "":
		return fmt.Errorf("%w: bus.password set without bus.user", ErrInvalidConfig)
	case c.ReconnectWait < 0:
		return fmt.Errorf("%w: bus.reconnect_wait %s is negative", ErrInvalidConfig, c.ReconnectWait)
	case c.RequestTimeout < 0:
		return fmt.Errorf("%w: bus.request_timeout %s is negative", ErrInvalidConfig, c.RequestTimeout)
	}
	return nil
}

func validURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return errors.New("scheme must be nats, tls, ws or wss")
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}

// Connect opens a NATS connection: to cfg.URLs when given, otherwise
// in-process to embedded. The initial connect fails fast; once connected,
// the connection reconnects forever and logs disconnects, reconnects,
// closing and asynchronous errors (slow consumers above all) through log (nil
// discards).
func Connect(cfg Config, embedded *server.Server, log *slog.Logger) (*nats.Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With("component", "nats", "name", cfg.Name)
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.ReconnectWait),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.ReconnectBufSize(reconnectBufSize),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err == nil && nc.IsClosed() {
				return // our own Close; ClosedHandler logs it
			}
			log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Warn("nats connection closed", "err", err)
				return
			}
			log.Info("nats connection closed")
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				slowConsumerErrors.Add(1)
			}
			attrs := []any{"err", err}
			if sub != nil {
				msgs, bytes, _ := sub.Pending()
				dropped, _ := sub.Dropped()
				attrs = append(attrs, "subject", sub.Subject, "pending_msgs", msgs,
					"pending_bytes", bytes, "dropped", dropped)
			}
			log.Error("nats async error", attrs...)
		}),
	}
	switch {
	case cfg.Token != "":
		opts = append(opts, nats.Token(cfg.Token))
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	case cfg.CredsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}

	var servers string
	switch {
	case len(cfg.URLs) > 0:
		servers = strings.Join(cfg.URLs, ",")
	case embedded != nil:
		opts = append(opts, nats.InProcessServer(embedded))
	default:
		return nil, ErrNoServer
	}
	nc, err := nats.Connect(servers, opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %q: %w", redact(cfg.URLs), err)
	}
	if servers == "" {
		log.Debug("nats connected", "url", "in-process")
	} else {
		log.Debug("nats connected", "url", nc.ConnectedUrlRedacted())
	}
	return nc, nil
}

// slowConsumerErrors counts the slow-consumer errors of every connection
// of this process (a subscription that fell behind and lost messages).
var slowConsumerErrors atomic.Uint64

// SlowConsumerErrors returns how many times this process's NATS client
// reported a subscription as a slow consumer (messages dropped), for
// /metrics and the console.
func SlowConsumerErrors() uint64 { return slowConsumerErrors.Load() }

// redact strips user info from URLs for error messages.
func redact(urls []string) string {
	out := make([]string, len(urls))
	for i, s := range urls {
		if u, err := url.Parse(s); err == nil && u.User != nil {
			u.User = nil
			s = u.String()
		}
		out[i] = s
	}
	if len(out) == 0 {
		return "in-process"
	}
	return strings.Join(out, ",")
}
