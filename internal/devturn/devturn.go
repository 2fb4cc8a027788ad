// Package devturn runs a TURN (and STUN) server for development inside
// `salam up`: on loopback only, authenticating the short-lived credentials
// core hands out (internal/auth's TURN REST API scheme). Production runs a
// real TURN deployment (coturn) with the same shared secret.
//
// It must not listen on anything but a loopback address.
package devturn

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/turn/v5"

	"github.com/salamhq/salam/internal/auth"
)

// Config of the development TURN server.
type Config struct {
	Enabled bool   `yaml:"enabled"` // run it; salam up's default is true, other commands never run it
	Listen  string `yaml:"listen"`  // UDP address, loopback only; default 127.0.0.1:0 (a free port, handed to clients by GET /v1/calls/ice-servers)
	Realm   string `yaml:"realm"`   // default "salam"
}

// EnsureDefaults fills zero fields.
func (c *Config) EnsureDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.Realm == "" {
		c.Realm = "salam"
	}
}

// Validate refuses a listen address that is not loopback.
func (c *Config) Validate() error {
	host, _, err := net.SplitHostPort(c.Listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("devturn: invalid config field listen %q: want a loopback IP and port", c.Listen)
	}
	return nil
}

// Server is a running development TURN server.
type Server struct {
	srv    *turn.Server
	conn   net.PacketConn
	Secret string // the shared secret credentials are minted with
}

// Start listens on cfg.Listen. secret is the TURN REST API shared secret;
// empty means a random one for this process.
func Start(cfg Config, secret string) (*Server, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if secret == "" {
		b := make([]byte, 24)
		rand.Read(b)
		secret = hex.EncodeToString(b)
	}
	conn, err := net.ListenPacket("udp4", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("devturn: %w", err)
	}
	relayIP := conn.LocalAddr().(*net.UDPAddr).IP
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: cfg.Realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			user, credential, err := auth.CheckTURNUsername(secret, ra.Username, time.Now())
			if err != nil {
				return "", nil, false
			}
			return user, turn.GenerateAuthKey(ra.Username, ra.Realm, credential), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn: conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{
				RelayAddress: relayIP, // relays on loopback too
				Address:      relayIP.String(),
			},
		}},
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("devturn: %w", err)
	}
	return &Server{srv: srv, conn: conn, Secret: secret}, nil
}

// Addr is the UDP address the server listens on.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// URLs are the STUN and TURN URLs of the server, for clients.
func (s *Server) URLs() (stun, turnURLs []string) {
	return []string{"stun:" + s.Addr()}, []string{"turn:" + s.Addr() + "?transport=udp"}
}

// Close stops the server.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	return errors.Join(s.srv.Close(), s.conn.Close())
}
