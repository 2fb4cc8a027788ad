package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures the in-process NATS server that `salam up` runs
// when no external NATS is configured.
type EmbeddedConfig struct {
	// Listen is the host:port of a TCP listener for NATS clients (yaml:
	// "listen"). Empty (the default) opens no port: only connections made in
	// this process with Connect reach the server. "127.0.0.1:4222" lets other
	// local processes, such as extra edges, join; port 0 picks a free port,
	// which srv.ClientURL() then reports.
	Listen string `yaml:"listen"`
}

// Validate reports a Listen that is not a host:port with a port in 0–65535.
func (c *EmbeddedConfig) Validate() error {
	if c.Listen == "" {
		return nil
	}
	_, _, err := splitListen(c.Listen)
	return err
}

func splitListen(listen string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(listen)
	if err == nil {
		port, err = strconv.Atoi(p)
	}
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%w: embedded.listen %q: want host:port", ErrInvalidConfig, listen)
	}
	return host, port, nil
}

// readyTimeout bounds how long StartEmbedded waits for the server.
const readyTimeout = 10 * time.Second

// StartEmbedded starts an in-process NATS server and waits until it accepts
// connections. The server installs no signal handlers and logs through log:
// its warnings and errors at those levels, its notices (startup banner,
// listening addresses) at debug level; a nil log discards. The caller stops it with Shutdown (and
// may then WaitForShutdown).
func StartEmbedded(cfg EmbeddedConfig, log *slog.Logger) (*server.Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := &server.Options{
		ServerName: "salam-embedded",
		NoSigs:     true,
		DontListen: cfg.Listen == "",
	}
	if !opts.DontListen {
		host, port, err := splitListen(cfg.Listen)
		if err != nil {
			return nil, err
		}
		if port == 0 {
			port = server.RANDOM_PORT // NATS treats 0 as "default port 4222"
		}
		opts.Host, opts.Port = host, port
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded nats: %w", err)
	}
	sl := &serverLog{log: log}
	srv.SetLoggerV2(sl, false, false, false)
	srv.Start()
	// A listen failure is reported through Fatalf during Start; do not wait
	// the full timeout for a server that can never become ready.
	if err := sl.fatal(); err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("bus: embedded nats: %w", err)
	}
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		if err := sl.fatal(); err != nil {
			return nil, fmt.Errorf("bus: embedded nats: %w", err)
		}
		return nil, fmt.Errorf("bus: embedded nats: not ready after %s", readyTimeout)
	}
	log.Debug("embedded nats ready", "listen", cfg.Listen, "url", clientURL(srv, opts))
	return srv, nil
}

func clientURL(srv *server.Server, opts *server.Options) string {
	if opts.DontListen {
		return "in-process"
	}
	return srv.ClientURL()
}

// serverLog adapts slog to the NATS server's Logger. Fatalf never exits the
// process (the NATS default logger does): it logs at error level and keeps
// the first message, which StartEmbedded turns into an error.
type serverLog struct {
	log *slog.Logger

	mu    sync.Mutex
	first error // first Fatalf message
}

func (l *serverLog) fatal() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first
}

func (l *serverLog) emit(level slog.Level, format string, v []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "nats-server")
}

func (l *serverLog) Noticef(format string, v ...any) { l.emit(slog.LevelDebug, format, v) }
func (l *serverLog) Warnf(format string, v ...any)   { l.emit(slog.LevelWarn, format, v) }
func (l *serverLog) Errorf(format string, v ...any)  { l.emit(slog.LevelError, format, v) }
func (l *serverLog) Debugf(format string, v ...any)  {}
func (l *serverLog) Tracef(format string, v ...any)  {}

func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg, "component", "nats-server")
	l.mu.Lock()
	if l.first == nil {
		l.first = errors.New(msg)
	}
	l.mu.Unlock()
}
