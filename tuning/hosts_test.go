package tuning

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// loadHosts reads testdata/hosts: blocks of "host NAME" followed by lines
//
//	sysctl KEY VALUE...       a sysctl and its value
//	unreadable KEY            reading KEY fails with permission denied
//	nofile SOFT HARD          RLIMIT_NOFILE
//	systemd                   systemd is running
//	unit UNIT PROP=VALUE      an installed unit and one of its properties
//
// ended by a blank line.
func loadHosts(t *testing.T) map[string]*MemHost {
	t.Helper()
	data, err := os.ReadFile("testdata/hosts")
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]*MemHost{}
	var h *MemHost
	for n, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		bad := func() { t.Fatalf("testdata/hosts:%d: bad line %q", n+1, line) }
		if f[0] == "host" {
			if len(f) != 2 {
				bad()
			}
			h = &MemHost{Sysctls: map[string]string{}, Unreadable: map[string]error{}, Units: map[string]map[string]string{}}
			hosts[f[1]] = h
			continue
		}
		if h == nil {
			bad()
		}
		switch {
		case f[0] == "sysctl" && len(f) >= 3:
			h.Sysctls[f[1]] = strings.Join(f[2:], "\t")
		case f[0] == "unreadable" && len(f) == 2:
			h.Sysctls[f[1]] = "0"
			h.Unreadable[f[1]] = errors.New("open /proc/sys/" + strings.ReplaceAll(f[1], ".", "/") + ": permission denied")
		case f[0] == "nofile" && len(f) == 3:
			h.Soft, h.Hard = parseLimit(t, f[1]), parseLimit(t, f[2])
		case f[0] == "systemd" && len(f) == 1:
			h.Systemd = true
		case f[0] == "unit" && len(f) == 3:
			k, v, ok := strings.Cut(f[2], "=")
			if !ok {
				bad()
			}
			if h.Units[f[1]] == nil {
				h.Units[f[1]] = map[string]string{}
			}
			h.Units[f[1]][k] = v
		default:
			bad()
		}
	}
	return hosts
}

func parseLimit(t *testing.T, s string) uint64 {
	t.Helper()
	if s == "infinity" {
		return Infinity
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// hostArg returns a fresh copy of the host named by the test case's host=.
func hostArg(t *testing.T, hosts map[string]*MemHost, d *testCase) *MemHost {
	t.Helper()
	h, ok := hosts[d.KV["host"]]
	if !ok {
		t.Fatalf("%s: unknown host %q", d.Pos, d.KV["host"])
	}
	return h.Clone()
}
