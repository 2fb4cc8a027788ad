package tuning

import (
	"fmt"
	"io/fs"
	"maps"
)

// MemHost is an in-memory Host and Writer for tests: a map of sysctls, a
// NOFILE limit and the systemd units it has. The zero value has no
// sysctls, no limit and no systemd.
type MemHost struct {
	// Sysctls maps a dotted key to its value; absent keys do not exist.
	Sysctls map[string]string
	// Unreadable maps a key to the error reading (and writing) it returns.
	Unreadable map[string]error
	// Soft and Hard are RLIMIT_NOFILE.
	Soft, Hard uint64
	// Systemd says whether systemd runs; Units maps a unit to its
	// properties (absent units are not installed).
	Systemd bool
	Units   map[string]map[string]string
	// Written records every SetSysctl, in order, as "key=value".
	Written []string
}

var (
	_ Host   = (*MemHost)(nil)
	_ Writer = (*MemHost)(nil)
)

// Clone returns a deep copy, so one seeded host can serve many tests.
func (h *MemHost) Clone() *MemHost {
	c := *h
	c.Sysctls = maps.Clone(h.Sysctls)
	c.Unreadable = maps.Clone(h.Unreadable)
	c.Units = make(map[string]map[string]string, len(h.Units))
	for u, props := range h.Units {
		c.Units[u] = maps.Clone(props)
	}
	c.Written = nil
	return &c
}

// Sysctl implements Host.
func (h *MemHost) Sysctl(key string) (string, error) {
	if err := h.Unreadable[key]; err != nil {
		return "", err
	}
	v, ok := h.Sysctls[key]
	if !ok {
		return "", &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
	}
	return normalize(v), nil
}

// SetSysctl implements Writer.
func (h *MemHost) SetSysctl(key, value string) error {
	if err := h.Unreadable[key]; err != nil {
		return err
	}
	if _, ok := h.Sysctls[key]; !ok {
		return &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
	}
	h.Sysctls[key] = value
	h.Written = append(h.Written, fmt.Sprintf("%s=%s", key, value))
	return nil
}

// NoFile implements Host.
func (h *MemHost) NoFile() (soft, hard uint64, err error) { return h.Soft, h.Hard, nil }

// SystemdProperty implements Host.
func (h *MemHost) SystemdProperty(unit, property string) (string, error) {
	if !h.Systemd {
		return "", ErrNoSystemd
	}
	props, ok := h.Units[unit]
	if !ok {
		return "", ErrNoUnit
	}
	v, ok := props[property]
	if !ok {
		return "", fmt.Errorf("systemctl show %s: no %s", unit, property)
	}
	return v, nil
}
