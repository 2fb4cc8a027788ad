package tuning

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed profiles/*.yaml
var profileFS embed.FS

// Kind is what an entry tunes and so how Check reads it and Apply writes it.
type Kind string

const (
	// Sysctl: a kernel parameter under /proc/sys, key in dotted form
	// (net.core.somaxconn). Check reads it unprivileged; Apply writes it.
	Sysctl Kind = "sysctl"
	// Ulimit: a resource limit of the process running the check; key
	// "nofile" (RLIMIT_NOFILE, compared on the hard limit). Apply only
	// advises.
	Ulimit Kind = "ulimit"
	// Systemd: a property (LimitNOFILE) of the service unit named by
	// Entry.Unit. Not applicable where systemd does not run or the unit
	// is not installed. Apply only advises.
	Systemd Kind = "systemd"
	// NIC: network card settings (rings, RSS, IRQ affinity, GRO). Always
	// advisory: ethtool may be absent and the right value depends on the
	// card, so Check never fails on them and Apply never changes them.
	NIC Kind = "nic"
)

// Entry is one setting of a profile.
type Entry struct {
	Kind Kind   `yaml:"kind"`
	Key  string `yaml:"key"`
	// Unit is the systemd unit, for Kind Systemd only.
	Unit string `yaml:"unit,omitempty"`
	// Value is the wanted value, in the form its Rule parses.
	Value string `yaml:"value"`
	Rule  Rule   `yaml:"rule"`
	// IfPresent (sysctl only): a key absent from this kernel, such as
	// nf_conntrack_max without conntrack loaded, is "not applicable"
	// rather than unreadable.
	IfPresent bool `yaml:"if_present,omitempty"`
	// Why explains the value, with its arithmetic. Required.
	Why string `yaml:"why"`
	// How says how to set it where Apply cannot (required for every kind
	// but Sysctl).
	How string `yaml:"how,omitempty"`

	// Profile is the name of the profile the entry came from.
	Profile string `yaml:"-"`
}

// Name is how tables show the entry: the sysctl key, "ulimit nofile",
// "salam-edge.service LimitNOFILE", "nic rings".
func (e Entry) Name() string {
	switch e.Kind {
	case Sysctl:
		return e.Key
	case Systemd:
		return e.Unit + " " + e.Key
	}
	return string(e.Kind) + " " + e.Key
}

// Profile is a named set of entries for one role of host.
type Profile struct {
	Name string `yaml:"name"`
	// Summary is one line for `salam tuning list`.
	Summary string `yaml:"summary"`
	// About states the sizing assumptions every entry's arithmetic uses.
	About   string  `yaml:"about"`
	Entries []Entry `yaml:"entries"`
}

// Names lists the embedded profiles, sorted.
func Names() []string {
	files, _ := fs.Glob(profileFS, "profiles/*.yaml")
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// Load returns the embedded profile name, validated.
func Load(name string) (*Profile, error) {
	data, err := profileFS.ReadFile("profiles/" + name + ".yaml")
	if errors.Is(err, fs.ErrNotExist) || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("%w %q (have %s)", ErrUnknownProfile, name, strings.Join(Names(), ", "))
	}
	if err != nil {
		return nil, err
	}
	return Parse(name, data)
}

// Parse decodes and validates a profile file; name must match its name
// field. Unknown fields are errors, so a typo cannot silently drop a rule.
func Parse(name string, data []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrInvalidProfile, name, err)
	}
	if p.Name != name {
		return nil, fmt.Errorf("%w %s: name field is %q", ErrInvalidProfile, name, p.Name)
	}
	for i := range p.Entries {
		p.Entries[i].Profile = name
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}
