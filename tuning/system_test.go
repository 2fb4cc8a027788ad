package tuning

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Check every profile against this machine, read-only. The outcome depends
// on the machine (our CI caps files at 20,000, so nofile is short there);
// only that it runs is asserted. go test -v -run ThisHost shows the tables.
func TestCheckThisHost(t *testing.T) {
	for _, name := range Names() {
		p := mustLoad(t, name)
		rs := Check(p, System{})
		if len(rs) != len(p.Entries) {
			t.Fatalf("%s: %d results for %d entries", name, len(rs), len(p.Entries))
		}
		var b strings.Builder
		if err := WriteCheck(&b, p, rs); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s on this host:\n%s", name, b.String())
	}
}

func TestSystemSysctl(t *testing.T) {
	sys := System{ProcSys: t.TempDir()}
	procTree(t, sys.ProcSys, &MemHost{Sysctls: map[string]string{"net.ipv4.tcp_mem": "1 2 3"}})
	if v, err := sys.Sysctl("net.ipv4.tcp_mem"); err != nil || v != "1 2 3" {
		t.Errorf("Sysctl = %q, %v", v, err)
	}
	if _, err := sys.Sysctl("net.core.somaxconn"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent key: %v", err)
	}
	for _, bad := range []string{"../../etc/passwd", "net/core/somaxconn", "somaxconn", ""} {
		if _, err := sys.Sysctl(bad); !errors.Is(err, ErrBadValue) {
			t.Errorf("Sysctl(%q) = %v, want ErrBadValue", bad, err)
		}
		if err := sys.SetSysctl(bad, "1"); !errors.Is(err, ErrBadValue) {
			t.Errorf("SetSysctl(%q) = %v, want ErrBadValue", bad, err)
		}
	}
	if err := sys.SetSysctl("net.ipv4.tcp_mem", "4 5 6"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(sys.ProcSys, "net/ipv4/tcp_mem")); string(b) != "4 5 6\n" {
		t.Errorf("file = %q", b)
	}
	if err := sys.SetSysctl("net.core.somaxconn", "1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SetSysctl on an absent key: %v", err)
	}
}

// The real sysctl tree is readable without privilege; fs.nr_open exists on
// every Linux.
func TestSystemReadsProc(t *testing.T) {
	if _, err := os.Stat("/proc/sys/fs/nr_open"); err != nil {
		t.Skip("no /proc/sys here")
	}
	if v, err := (System{}).Sysctl("fs.nr_open"); err != nil || v == "" {
		t.Errorf("fs.nr_open = %q, %v", v, err)
	}
	soft, hard, err := System{}.NoFile()
	if err != nil || soft == 0 || soft > hard {
		t.Errorf("NoFile = %d, %d, %v", soft, hard, err)
	}
}

func TestSystemdAbsent(t *testing.T) {
	sys := System{SystemdDir: filepath.Join(t.TempDir(), "no-systemd")}
	if _, err := sys.SystemdProperty("salam-edge.service", "LimitNOFILE"); !errors.Is(err, ErrNoSystemd) {
		t.Errorf("err = %v, want ErrNoSystemd", err)
	}
}

func TestParseShow(t *testing.T) {
	got := parseShow([]byte("LimitNOFILE=524288\nLoadState=not-found\nExecStart={ path=/x ; argv[]=/x a=b }\n"))
	if got["LimitNOFILE"] != "524288" || got["LoadState"] != "not-found" || got["ExecStart"] != "{ path=/x ; argv[]=/x a=b }" {
		t.Errorf("parseShow = %v", got)
	}
}

func TestMemHostSystemd(t *testing.T) {
	h := &MemHost{Systemd: true, Units: map[string]map[string]string{"a.service": {"LimitNOFILE": "10"}}}
	if v, err := h.SystemdProperty("a.service", "LimitNOFILE"); err != nil || v != "10" {
		t.Errorf("= %q, %v", v, err)
	}
	if _, err := h.SystemdProperty("b.service", "LimitNOFILE"); !errors.Is(err, ErrNoUnit) {
		t.Errorf("absent unit: %v", err)
	}
	if _, err := (&MemHost{}).SystemdProperty("a.service", "LimitNOFILE"); !errors.Is(err, ErrNoSystemd) {
		t.Errorf("no systemd: %v", err)
	}
}
