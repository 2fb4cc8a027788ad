package calls

import (
	"fmt"
	"time"

	"github.com/salamhq/salam/internal/bus"
)

// Config of the calls service. Zero fields take the default beside them.
type Config struct {
	NodeID            string        `yaml:"node_id"`             // this process's id in call ids, letters and digits; default random per start. Set it per process to end the calls a crashed process held when it restarts
	RingTimeout       time.Duration `yaml:"ring_timeout"`        // ringing without an answer → missed; default 45s
	ReconnectGrace    time.Duration `yaml:"reconnect_grace"`     // a dropped participant may resume this long before the others see it leave; default 20s
	ProbeInterval     time.Duration `yaml:"probe_interval"`      // how often participants' connections are checked (edges that died); default 5s
	MaxParticipants   int           `yaml:"max_participants"`    // per call; default 16 (error 307 over it)
	SFUThreshold      int           `yaml:"sfu_threshold"`       // more participants than this moves the call to the SFU; default 4
	SFULiveness       time.Duration `yaml:"sfu_liveness"`        // an SFU node silent this long gets no new rooms (its heartbeat is sfu.heartbeat, default 2s); default 6s
	SFURoomSpread     int           `yaml:"sfu_room_spread"`     // participants of a call placed on its room's home SFU node before the next ones go to other nodes, which relay media through the home node; default 0 = never spread (one node per room)
	MaxSDPBytes       int           `yaml:"max_sdp_bytes"`       // one offer or answer; default 16384 (error 7 over it)
	MaxCandidateBytes int           `yaml:"max_candidate_bytes"` // one candidate; default 512
	CandidateRate     float64       `yaml:"candidate_rate"`      // candidates/s per participant; default 10 (error 6 over it)
	CandidateBurst    int           `yaml:"candidate_burst"`     // default 50
	ICE               ICEConfig     `yaml:"ice"`
}

// ICEConfig names the STUN and TURN servers handed to clients.
type ICEConfig struct {
	STUNURLs   []string      `yaml:"stun_urls"`   // e.g. stun:stun.example.com:3478; empty = none
	TURNURLs   []string      `yaml:"turn_urls"`   // e.g. turn:turn.example.com:3478?transport=udp; empty = none
	TURNSecret string        `yaml:"turn_secret"` // shared with the TURN servers (coturn static-auth-secret); required with turn_urls
	TURNTTL    time.Duration `yaml:"turn_ttl"`    // lifetime of minted TURN credentials; default 12h (longer than a call)
}

// EnsureDefaults fills zero fields.
func (c *Config) EnsureDefaults() {
	setDefault(&c.RingTimeout, 45*time.Second)
	setDefault(&c.ReconnectGrace, 20*time.Second)
	setDefault(&c.ProbeInterval, 5*time.Second)
	setDefault(&c.MaxParticipants, 16)
	setDefault(&c.SFUThreshold, 4)
	setDefault(&c.SFULiveness, 6*time.Second)
	setDefault(&c.MaxSDPBytes, 16384)
	setDefault(&c.MaxCandidateBytes, 512)
	setDefault(&c.CandidateRate, 10)
	setDefault(&c.CandidateBurst, 50)
	setDefault(&c.ICE.TURNTTL, 12*time.Hour)
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	checks := []struct {
		ok    bool
		field string
	}{
		{c.NodeID == "" || (len(c.NodeID) <= 16 && bus.ValidNode(c.NodeID)), "node_id (1–16 letters and digits)"},
		{c.RingTimeout >= 100*time.Millisecond, "ring_timeout (≥ 100ms)"},
		{c.ReconnectGrace >= 100*time.Millisecond, "reconnect_grace (≥ 100ms)"},
		{c.ProbeInterval >= 100*time.Millisecond, "probe_interval (≥ 100ms)"},
		{c.MaxParticipants >= 2 && c.MaxParticipants <= 1000, "max_participants (2–1000)"},
		{c.SFUThreshold >= 2, "sfu_threshold (≥ 2)"},
		{c.SFULiveness >= 100*time.Millisecond, "sfu_liveness (≥ 100ms)"},
		{c.SFURoomSpread >= 0, "sfu_room_spread (≥ 0)"},
		{c.MaxSDPBytes >= 1024 && c.MaxSDPBytes <= 1<<20, "max_sdp_bytes (1 KiB – 1 MiB)"},
		{c.MaxCandidateBytes >= 64 && c.MaxCandidateBytes <= 4096, "max_candidate_bytes (64–4096)"},
		{c.CandidateRate > 0 && c.CandidateBurst > 0, "candidate_rate/candidate_burst"},
		{len(c.ICE.TURNURLs) == 0 || len(c.ICE.TURNSecret) >= 16, "ice.turn_secret (≥ 16 bytes with turn_urls)"},
		{c.ICE.TURNTTL >= time.Minute, "ice.turn_ttl (≥ 1m)"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return fmt.Errorf("calls: invalid config field %s", ch.field)
		}
	}
	return nil
}
