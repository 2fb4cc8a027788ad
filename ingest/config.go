package ingest

import (
	"fmt"
	"time"
)

// Variant values of Config.Variant.
const (
	VariantMPEGTS     = "mpegts"     // classic HLS, MPEG-TS segments
	VariantFMP4       = "fmp4"       // classic HLS, fMP4 segments
	VariantLowLatency = "lowlatency" // LL-HLS: fMP4 parts, blocking playlist reload
)

// Second-publisher policies of Config.OnSecondPublisher.
const (
	SecondReject  = "reject"  // the new publisher is refused
	SecondReplace = "replace" // the old publisher is disconnected, the new one takes over
)

// Config configures the RTMP server and the HLS output. Every zero value
// means the default named on the field.
type Config struct {
	// Enabled runs ingest in `salam up`; default true there (see cmd/salam).
	Enabled bool `yaml:"enabled"`
	// RTMPListen is the RTMP address; default ":1935".
	RTMPListen string `yaml:"rtmp_listen"`
	// HLSListen is the HLS HTTP address; default ":8888".
	HLSListen string `yaml:"hls_listen"`
	// PublicHost is the host (no port) printed in publish and playback URLs;
	// default "localhost".
	PublicHost string `yaml:"public_host"`
	// Variant is mpegts (default), fmp4 or lowlatency.
	Variant string `yaml:"variant"`
	// SegmentCount is how many segments a playlist lists; default 7.
	SegmentCount int `yaml:"segment_count"`
	// SegmentMinDuration: a segment closes on the first keyframe after
	// this; default 1s.
	SegmentMinDuration time.Duration `yaml:"segment_min_duration"`
	// PartMinDuration is the LL-HLS part length; default 200ms.
	PartMinDuration time.Duration `yaml:"part_min_duration"`
	// OnSecondPublisher is reject (default) or replace.
	OnSecondPublisher string `yaml:"on_second_publisher"`
	// HandshakeTimeout bounds the RTMP handshake, connect and publish
	// commands and the key check; default 10s.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// StallTimeout ends a publish when no data arrives for this long;
	// default 10s.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// AllowedOrigins are the CORS origins of web players; default ["*"].
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxPublishers caps concurrent publishing connections; default 64.
	MaxPublishers int `yaml:"max_publishers"`
	// RecordDir keeps the streams whose key asks for recording, as
	// <dir>/<stream>/<start time>/index.m3u8 + segments, served at
	// /vod/<stream>/<start time>/index.m3u8. Empty: no recording (salam up
	// sets <data>/recordings).
	RecordDir string `yaml:"record_dir"`
	// Transcode is the optional ABR ladder through ffmpeg.
	Transcode TranscodeConfig `yaml:"transcode"`
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.RTMPListen, ":1935")
	def(&c.HLSListen, ":8888")
	def(&c.PublicHost, "localhost")
	def(&c.Variant, VariantMPEGTS)
	def(&c.OnSecondPublisher, SecondReject)
	if c.SegmentCount == 0 {
		c.SegmentCount = 7
	}
	if c.SegmentMinDuration == 0 {
		c.SegmentMinDuration = time.Second
	}
	if c.PartMinDuration == 0 {
		c.PartMinDuration = 200 * time.Millisecond
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = 10 * time.Second
	}
	if len(c.AllowedOrigins) == 0 {
		c.AllowedOrigins = []string{"*"}
	}
	if c.MaxPublishers == 0 {
		c.MaxPublishers = 64
	}
	c.Transcode.ensureDefaults()
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	bad := func(field, why string) error {
		return fmt.Errorf("ingest: invalid config field %s (%s)", field, why)
	}
	switch {
	case c.Variant != VariantMPEGTS && c.Variant != VariantFMP4 && c.Variant != VariantLowLatency:
		return bad("variant", "mpegts, fmp4 or lowlatency")
	case c.OnSecondPublisher != SecondReject && c.OnSecondPublisher != SecondReplace:
		return bad("on_second_publisher", "reject or replace")
	case c.SegmentCount < 3:
		return bad("segment_count", "≥ 3")
	case c.Variant == VariantLowLatency && c.SegmentCount < 7:
		return bad("segment_count", "≥ 7 with lowlatency")
	case c.SegmentMinDuration < 100*time.Millisecond:
		return bad("segment_min_duration", "≥ 100ms")
	case c.PartMinDuration < 50*time.Millisecond || c.PartMinDuration > c.SegmentMinDuration:
		return bad("part_min_duration", "50ms ≤ part ≤ segment_min_duration")
	case c.HandshakeTimeout <= 0:
		return bad("handshake_timeout", "> 0")
	case c.StallTimeout < time.Second:
		return bad("stall_timeout", "≥ 1s")
	case c.MaxPublishers < 1:
		return bad("max_publishers", "≥ 1")
	}
	return c.Transcode.validate()
}
