package tuning

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Host is what Check reads: the machine a profile is checked against.
type Host interface {
	// Sysctl returns the value of a dotted key (net.core.somaxconn) with
	// whitespace runs collapsed to one space. A key this kernel (or this
	// network namespace) does not have returns an error wrapping
	// fs.ErrNotExist.
	Sysctl(key string) (string, error)
	// NoFile returns RLIMIT_NOFILE of the checking process; Infinity is
	// RLIM_INFINITY.
	NoFile() (soft, hard uint64, err error)
	// SystemdProperty returns a property of a unit as `systemctl show`
	// prints it ("524288", "infinity"). It returns ErrNoSystemd when
	// systemd is not the service manager and ErrNoUnit when the unit is
	// not installed.
	SystemdProperty(unit, property string) (string, error)
}

// Writer is what Apply changes. It reads first so it never weakens a
// value that already satisfies an entry.
type Writer interface {
	Sysctl(key string) (string, error)
	// SetSysctl writes value to key. It must not create keys: writing a
	// key the kernel does not have is an error wrapping fs.ErrNotExist.
	SetSysctl(key, value string) error
}

// System is the machine this process runs on. Reading needs no privilege;
// SetSysctl on the real /proc/sys needs root.
type System struct {
	// ProcSys is the root of the sysctl tree. Empty means /proc/sys; tests
	// point it at a temporary directory.
	ProcSys string
	// SystemdDir is where a running systemd leaves its mark
	// (sd_booted(3)). Empty means /run/systemd/system.
	SystemdDir string
}

var (
	_ Host   = System{}
	_ Writer = System{}
)

func (s System) path(key string) string {
	root := s.ProcSys
	if root == "" {
		root = "/proc/sys"
	}
	return filepath.Join(root, strings.ReplaceAll(key, ".", "/"))
}

// Sysctl implements Host.
func (s System) Sysctl(key string) (string, error) {
	if !sysctlKeyRe.MatchString(key) {
		return "", fmt.Errorf("%w: sysctl key %q", ErrBadValue, key)
	}
	b, err := os.ReadFile(s.path(key))
	if err != nil {
		return "", err
	}
	return normalize(string(b)), nil
}

// SetSysctl implements Writer.
func (s System) SetSysctl(key, value string) error {
	if !sysctlKeyRe.MatchString(key) {
		return fmt.Errorf("%w: sysctl key %q", ErrBadValue, key)
	}
	f, err := os.OpenFile(s.path(key), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value + "\n")
	return errors.Join(err, f.Close())
}

// NoFile implements Host with getrlimit(2). Go raises its own soft limit
// to the hard one at start, so the hard limit is what counts.
func (System) NoFile() (soft, hard uint64, err error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, 0, err
	}
	return r.Cur, r.Max, nil
}

// SystemdProperty implements Host with `systemctl show`.
func (s System) SystemdProperty(unit, property string) (string, error) {
	dir := s.SystemdDir
	if dir == "" {
		dir = "/run/systemd/system"
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", ErrNoSystemd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "systemctl", "show", unit,
		"--property=LoadState", "--property="+property).Output()
	if errors.Is(err, exec.ErrNotFound) {
		return "", ErrNoSystemd
	}
	if err != nil {
		return "", fmt.Errorf("systemctl show %s: %w", unit, err)
	}
	props := parseShow(out)
	if props["LoadState"] == "not-found" {
		return "", ErrNoUnit
	}
	v, ok := props[property]
	if !ok {
		return "", fmt.Errorf("systemctl show %s: no %s", unit, property)
	}
	return v, nil
}

// parseShow parses the KEY=VALUE lines of `systemctl show`.
func parseShow(out []byte) map[string]string {
	props := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			props[k] = v
		}
	}
	return props
}
