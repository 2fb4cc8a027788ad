package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Options are what a Server needs besides its Config.
type Options struct {
	Config    Config
	Keys      KeyChecker // required
	Lifecycle Lifecycle  // optional
	Logger    *slog.Logger
	// Now is the clock for ingest timestamps; default time.Now.
	Now func() time.Time
}

// Server is the RTMP ingest and the HLS HTTP server. Create it with New,
// start it with Listen, end it with Close.
type Server struct {
	cfg   Config
	keys  KeyChecker
	life  Lifecycle
	log   *slog.Logger
	now   func() time.Time
	stats *metrics

	rtmpLn net.Listener
	http   *http.Server
	hlsLn  net.Listener

	mu      sync.Mutex
	streams map[string]*stream // by StreamInfo.Name; guarded by mu
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// New checks the options and builds a Server; nothing listens yet.
func New(o Options) (*Server, error) {
	o.Config.EnsureDefaults()
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Keys == nil {
		return nil, errors.New("ingest: Options.Keys is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{cfg: o.Config, keys: o.Keys, life: o.Lifecycle, log: o.Logger.With("component", "ingest"),
		now: o.Now, streams: map[string]*stream{}, conns: map[net.Conn]struct{}{}}
	if s.cfg.Transcode.Enabled {
		if _, err := exec.LookPath(s.cfg.Transcode.FFmpeg); err != nil {
			s.log.Warn("transcode ladder disabled: ffmpeg not found; streams are served as published", "ffmpeg", s.cfg.Transcode.FFmpeg, "err", err)
			s.cfg.Transcode.Enabled = false
		}
	}
	s.stats = newMetrics(s)
	return s, nil
}

// Listen binds the RTMP and HLS listeners and starts serving.
func (s *Server) Listen() error {
	var err error
	if s.rtmpLn, err = net.Listen("tcp", s.cfg.RTMPListen); err != nil {
		return fmt.Errorf("ingest: rtmp listen: %w", err)
	}
	if s.hlsLn, err = net.Listen("tcp", s.cfg.HLSListen); err != nil {
		s.rtmpLn.Close()
		return fmt.Errorf("ingest: hls listen: %w", err)
	}
	// No WriteTimeout: LL-HLS blocking playlist reloads are held until the
	// next part exists (under a second, and released when the stream ends).
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: s.cfg.HandshakeTimeout, IdleTimeout: time.Minute}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.http.Serve(s.hlsLn) }()
	go func() { defer s.wg.Done(); s.acceptLoop() }()
	return nil
}

// RTMPAddr and HLSAddr are the bound addresses (after Listen).
func (s *Server) RTMPAddr() net.Addr { return s.rtmpLn.Addr() }
func (s *Server) HLSAddr() net.Addr  { return s.hlsLn.Addr() }

// PublishBase and PlaybackBase prefix the URLs a creator and a viewer use
// (PublishBase/<key>, PlaybackBase/<name>/index.m3u8), with
// Config.PublicHost and the configured ports.
func (c *Config) PublishBase() string {
	return "rtmp://" + hostPort(c.PublicHost, c.RTMPListen) + "/live"
}
func (c *Config) PlaybackBase() string {
	return "http://" + hostPort(c.PublicHost, c.HLSListen) + "/live"
}

func hostPort(host, listen string) string {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		port = strings.TrimPrefix(listen, ":")
	}
	return net.JoinHostPort(host, port)
}

func (s *Server) acceptLoop() {
	var delay time.Duration
	for {
		conn, err := s.rtmpLn.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return // listener closed
		}
		delay = 0
		s.mu.Lock()
		if s.closed || len(s.conns) >= s.cfg.MaxPublishers {
			full := !s.closed
			s.mu.Unlock()
			if full {
				s.log.Warn("rtmp connection refused: max_publishers reached", "remote", conn.RemoteAddr().String())
			}
			conn.Close()
			continue
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handleConn(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, disconnects every publisher (their streams stop
// with ErrClosed) and the HTTP server, and waits for the goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	if s.rtmpLn != nil {
		s.rtmpLn.Close()
	}
	if s.http != nil {
		s.http.Close()
	}
	s.wg.Wait()
}

// Live lists the names of the streams being published.
func (s *Server) Live() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.streams))
	for name, st := range s.streams {
		if st.muxer() != nil {
			names = append(names, name)
		}
	}
	return names
}
