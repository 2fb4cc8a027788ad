package deploy_test

import (
	"bytes"
	"strings"
	"testing"
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

// salamConfig mirrors cmd/salam's config (package main, not importable)
// from the exported section types. TestSampleConfigFitsMirror keeps it
// complete: every key of deploy/salam.sample.yaml must decode into it.
type salamConfig struct {
	Data      string             `yaml:"data"`
	LogLevel  string             `yaml:"log_level"`
	Pprof     bool               `yaml:"pprof"`
	GCPercent int                `yaml:"gc_percent"`
	Edge      edge.Config        `yaml:"edge"`
	Auth      auth.Config        `yaml:"auth"`
	NATS      bus.Config         `yaml:"nats"`
	Embedded  bus.EmbeddedConfig `yaml:"embedded_nats"`
	Chat      chat.Config        `yaml:"chat"`
	Store     struct {
		PostgresURL string `yaml:"postgres_url"`
		SQLitePath  string `yaml:"sqlite_path"`
		Synchronous string `yaml:"synchronous"`
	} `yaml:"store"`
	Presence struct {
		RedisAddr          string          `yaml:"redis_addr"`
		AnnounceMaxMembers int             `yaml:"announce_max_members"`
		Service            presence.Config `yaml:"service"`
	} `yaml:"presence"`
	Calls   calls.Config        `yaml:"calls"`
	DevTURN devturn.Config      `yaml:"dev_turn"`
	SFU     sfu.Config          `yaml:"sfu"`
	Ingest  ingest.Config       `yaml:"ingest"`
	Live    live.Config         `yaml:"live"`
	Console console.Config      `yaml:"console"`
	Trace   observe.TraceConfig `yaml:"trace"`
}

// decodeSalamConfig decodes like cmd/salam does: unknown keys are errors,
// and reuse_port defaults to true before the file is read.
func decodeSalamConfig(t *testing.T, name, text string) salamConfig {
	t.Helper()
	var cfg salamConfig
	cfg.Edge.ReusePort = true
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

// keyPaths lists the dotted paths of every mapping key in a YAML document.
func keyPaths(t *testing.T, text string) map[string]bool {
	t.Helper()
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader([]byte(text))).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind == yaml.DocumentNode {
			walk(n.Content[0], prefix)
			return
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i < len(n.Content); i += 2 {
			p := prefix + n.Content[i].Value
			paths[p] = true
			walk(n.Content[i+1], p+".")
		}
	}
	walk(&doc, "")
	return paths
}

func TestSampleConfigFitsMirror(t *testing.T) {
	decodeSalamConfig(t, "salam.sample.yaml", readFile(t, abs("salam.sample.yaml")))
}

// TestRegionConfigs checks each region's salam.yaml the way salam would load
// it (secrets from the environment), and that it states the region's token
// audience, the data residency check edges make on every connection.
func TestRegionConfigs(t *testing.T) {
	sample := keyPaths(t, readFile(t, abs("salam.sample.yaml")))
	for _, r := range regions {
		name := "k8s/regions/" + r + "/salam.yaml"
		text := readFile(t, abs(name))
		for p := range keyPaths(t, text) {
			if !sample[p] {
				t.Errorf("%s: key %s is not in deploy/salam.sample.yaml", name, p)
			}
		}
		checkResidency(t, name, r, text)
		cfg := decodeSalamConfig(t, name, text)
		if cfg.Auth.Secret != "" || len(cfg.NATS.URLs) > 0 || cfg.NATS.Password != "" || cfg.NATS.Token != "" ||
			cfg.Store.PostgresURL != "" || cfg.Presence.RedisAddr != "" {
			t.Errorf("%s: secrets and service addresses belong in the environment (Secret salam), not the config", name)
		}
		cfg.Auth.Secret = strings.Repeat("k", auth.MinSecretLen) // SALAM_AUTH_SECRET
		cfg.NATS.URLs = []string{"nats://127.0.0.1:4222"}        // SALAM_NATS_URL
		cfg.Edge.EnsureDefaults()
		cfg.NATS.EnsureDefaults()
		cfg.Chat.EnsureDefaults()
		cfg.Presence.Service.EnsureDefaults()
		for section, err := range map[string]error{"edge": cfg.Edge.Validate(), "auth": cfg.Auth.Validate(),
			"nats": cfg.NATS.Validate(), "embedded_nats": cfg.Embedded.Validate(), "chat": cfg.Chat.Validate(),
			"presence.service": cfg.Presence.Service.Validate()} {
			if err != nil {
				t.Errorf("%s: %s: %v", name, section, err)
			}
		}
		if want := "salam-" + r; cfg.Auth.Audience != want {
			t.Errorf("%s: auth.audience = %q, want %q (a token of another region must not pass)", name, cfg.Auth.Audience, want)
		}
		if cfg.Data != "/var/lib/salam" {
			t.Errorf("%s: data = %q, want /var/lib/salam (the emptyDir in k8s, StateDirectory in systemd)", name, cfg.Data)
		}
		if cfg.Edge.DrainTimeout <= 0 || cfg.Edge.DrainTimeout+5*time.Second > stopGrace {
			t.Errorf("%s: drain_timeout %v leaves under 5 s of the %v the pods and units allow for stopping", name, cfg.Edge.DrainTimeout, stopGrace)
		}
	}
}

// stopGrace is terminationGracePeriodSeconds of edge and core pods and
// TimeoutStopSec of their units; the k8s and systemd tests hold them to it.
const stopGrace = 30 * time.Second
