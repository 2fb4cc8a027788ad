package tuning

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApplyTestdata(t *testing.T) {
	hosts := loadHosts(t)
	runTestdata(t, "testdata/apply", func(t *testing.T, d *testCase) string {
		if d.Cmd != "apply" || len(d.Args) < 1 {
			t.Fatalf("%s: want: apply PROFILE host=NAME [dry-run]", d.Pos)
		}
		p := mustLoad(t, d.Args[0])
		h := hostArg(t, hosts, d)
		dry := len(d.Args) > 1 && d.Args[1] == "dry-run"
		cs, err := Apply(p, h, dry)
		var b strings.Builder
		if err := WriteChanges(&b, cs, dry); err != nil {
			t.Fatal(err)
		}
		if err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
		}
		if len(h.Written) == 0 {
			h.Written = []string{"nothing"}
		}
		fmt.Fprintf(&b, "written: %s\n", strings.Join(h.Written, ", "))
		fmt.Fprintf(&b, "failing sysctls after: %d\n", failingSysctls(Check(p, h)))
		return b.String()
	})
}

func failingSysctls(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Entry.Kind == Sysctl && r.Fails() {
			n++
		}
	}
	return n
}

// procTree writes a host's sysctls into dir as the kernel lays them out
// (tab-separated fields, one trailing newline).
func procTree(t *testing.T, dir string, h *MemHost) {
	t.Helper()
	for k, v := range h.Sysctls {
		p := filepath.Join(dir, strings.ReplaceAll(k, ".", "/"))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Join(strings.Fields(v), "\t")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Apply through System into a temporary /proc/sys: a dry run changes no
// file; a real run makes every sysctl of every profile pass and keeps
// values already beyond the wanted ones.
func TestApplyProcTree(t *testing.T) {
	hosts := loadHosts(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			p := mustLoad(t, name)
			dir := t.TempDir()
			procTree(t, dir, hosts["stock"])
			sys := System{ProcSys: dir}
			before := snapshot(t, dir)

			if _, err := Apply(p, sys, true); err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, dir); after != before {
				t.Fatalf("dry run changed the tree:\n%s\n---\n%s", before, after)
			}

			cs, err := Apply(p, sys, false)
			if err != nil {
				t.Fatal(err)
			}
			if n := failingSysctls(Check(p, sys)); n != 0 {
				t.Errorf("%d sysctls still fail after apply", n)
			}
			for _, c := range cs {
				if c.Action == ActionWrite {
					b, _ := os.ReadFile(filepath.Join(dir, strings.ReplaceAll(c.Entry.Key, ".", "/")))
					if got := string(b); got != c.To+"\n" {
						t.Errorf("%s = %q, want %q", c.Entry.Key, got, c.To+"\n")
					}
				}
			}
			// fs.file-max was already far beyond every profile: untouched.
			if v, _ := sys.Sysctl("fs.file-max"); v != "9223372036854775807" {
				t.Errorf("fs.file-max = %s, want it left alone", v)
			}
			// A second apply has nothing left to write.
			cs, _ = Apply(p, sys, false)
			for _, c := range cs {
				if c.Action == ActionWrite {
					t.Errorf("second apply writes %s again", c.Entry.Key)
				}
			}
		})
	}
}

func TestApplyMissingRequiredKey(t *testing.T) {
	p := &Profile{Name: "t", Entries: []Entry{
		{Kind: Sysctl, Key: "net.core.somaxconn", Value: "10", Rule: AtLeast},
		{Kind: Sysctl, Key: "net.netfilter.nf_conntrack_max", Value: "10", Rule: AtLeast, IfPresent: true},
		{Kind: Sysctl, Key: "net.core.rmem_max", Value: "10", Rule: AtLeast},
	}}
	sys := System{ProcSys: t.TempDir()}
	procTree(t, sys.ProcSys, &MemHost{Sysctls: map[string]string{"net.core.rmem_max": "1"}})
	cs, err := Apply(p, sys, false)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist for the absent somaxconn", err)
	}
	want := []Action{ActionFailed, ActionSkip, ActionWrite}
	for i, c := range cs {
		if c.Action != want[i] {
			t.Errorf("%s: %s, want %s", c.Entry.Key, c.Action, want[i])
		}
	}
	// SetSysctl never creates keys, so the failed one is still absent.
	if _, err := os.Stat(filepath.Join(sys.ProcSys, "net/core/somaxconn")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("somaxconn was created: %v", err)
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		fmt.Fprintf(&b, "%s=%q\n", strings.TrimPrefix(p, dir), data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
