package main

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/salamhq/salam/ingest"
)

// viewerReport is how often ingest tells core/live each stream's viewers.
const viewerReport = 5 * time.Second

// startIngest runs the RTMP ingest and HLS server of salam up, checking
// keys with core/live over NATS. When the default ports are taken (a second
// salam up on the machine, parallel tests) it runs without ingest and says
// so; an address given explicitly must bind. It answers the console's
// streams request as node. It returns nil when ingest is
// not running, and sets the URL bases of cfg to the bound ports.
func startIngest(cfg *config, nc *nats.Conn, node string, log *slog.Logger, reg prometheus.Registerer) (*ingest.Server, func(), error) {
	life := &ingest.NATSLifecycle{NC: nc, Node: "salam-up", Log: log}
	s, err := ingest.New(ingest.Options{Config: cfg.Ingest, Keys: ingest.NATSKeys{NC: nc}, Lifecycle: life, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	if err := s.Listen(); err != nil {
		if cfg.Ingest.RTMPListen == ":1935" && cfg.Ingest.HLSListen == ":8888" {
			log.Warn("live ingest disabled: its default ports are in use (set --rtmp and --hls)", "err", err)
			return nil, func() {}, nil
		}
		return nil, nil, err
	}
	if err := s.Register(reg); err != nil {
		s.Close()
		return nil, nil, err
	}
	stopInspect, err := s.AnswerInspect(nc, node) // the console's streams view
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	stopViewers := life.ReportViewers(s, viewerReport)
	defaultBases := cfg.Live.PublishBase == cfg.Ingest.PublishBase() && cfg.Live.PlaybackBase == cfg.Ingest.PlaybackBase()
	cfg.Ingest.RTMPListen, cfg.Ingest.HLSListen = s.RTMPAddr().String(), s.HLSAddr().String()
	if defaultBases {
		cfg.Live.PublishBase, cfg.Live.PlaybackBase = cfg.Ingest.PublishBase(), cfg.Ingest.PlaybackBase()
	}
	fmt.Fprintf(os.Stderr, "  rtmp       %s/<stream key>   (salam streamkey --user alice --data %s)\n  hls        %s/<stream>/index.m3u8\n",
		cfg.Ingest.PublishBase(), cfg.Data, cfg.Ingest.PlaybackBase())
	var once sync.Once
	return s, func() { once.Do(func() { stopViewers(); stopInspect(); s.Close() }) }, nil
}
