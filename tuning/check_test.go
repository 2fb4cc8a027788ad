package tuning

import (
	"fmt"
	"strings"
	"testing"
)

func TestCheckTestdata(t *testing.T) {
	hosts := loadHosts(t)
	runTestdata(t, "testdata/check", func(t *testing.T, d *testCase) string {
		if d.Cmd != "check" || len(d.Args) != 1 {
			t.Fatalf("%s: want: check PROFILE host=NAME", d.Pos)
		}
		p, err := Load(d.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := WriteCheck(&b, p, Check(p, hostArg(t, hosts, d))); err != nil {
			t.Fatal(err)
		}
		return b.String()
	})
}

// Every profile checked against every fake host gives a status to every
// entry, and only short and unreadable entries fail.
func TestCheckStatuses(t *testing.T) {
	hosts := loadHosts(t)
	for _, name := range Names() {
		p := mustLoad(t, name)
		for hn, h := range hosts {
			for _, r := range Check(p, h) {
				switch r.Status {
				case StatusOK, StatusShort:
					if r.Current == "" {
						t.Errorf("%s on %s: %s is %s with no current value", name, hn, r.Entry.Name(), r.Status)
					}
				case StatusUnreadable, StatusNotApplicable, StatusAdvice:
					if r.Note == "" {
						t.Errorf("%s on %s: %s is %s with no note", name, hn, r.Entry.Name(), r.Status)
					}
				default:
					t.Errorf("%s on %s: %s has status %q", name, hn, r.Entry.Name(), r.Status)
				}
				if r.Fails() != (r.Status == StatusShort || r.Status == StatusUnreadable) {
					t.Errorf("%s: Fails() = %v for %s", r.Entry.Name(), r.Fails(), r.Status)
				}
				if r.Entry.Kind == NIC && r.Status != StatusAdvice {
					t.Errorf("%s: nic entry has status %s", r.Entry.Name(), r.Status)
				}
			}
		}
		if n := Failing(Check(p, hosts["tuned"])); n != 0 {
			t.Errorf("%s: %d entries fail on the tuned host", name, n)
		}
	}
}

func TestCheckNoFileNote(t *testing.T) {
	p := &Profile{Name: "t", Entries: []Entry{{Kind: Ulimit, Key: "nofile", Value: "100", Rule: AtLeast}}}
	for _, c := range []struct {
		soft, hard uint64
		status     Status
		current    string
		note       string
	}{
		{soft: 100, hard: 100, status: StatusOK, current: "100", note: "hard limit of this process"},
		{soft: 50, hard: 100, status: StatusOK, current: "100", note: "hard limit of this process, soft 50"},
		{soft: 99, hard: 99, status: StatusShort, current: "99", note: "hard limit of this process"},
		{soft: Infinity, hard: Infinity, status: StatusOK, current: "infinity", note: "hard limit of this process"},
	} {
		r := Check(p, &MemHost{Soft: c.soft, Hard: c.hard})[0]
		if r.Status != c.status || r.Current != c.current || r.Note != c.note {
			t.Errorf("soft %d hard %d: got %s %q %q", c.soft, c.hard, r.Status, r.Current, r.Note)
		}
	}
}

func mustLoad(t *testing.T, name string) *Profile {
	t.Helper()
	p, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ExampleCheck shows a check against an in-memory host.
func ExampleCheck() {
	h := &MemHost{Sysctls: map[string]string{"net.core.somaxconn": "4096"}}
	p := &Profile{Name: "demo", Entries: []Entry{
		{Kind: Sysctl, Key: "net.core.somaxconn", Value: "16384", Rule: AtLeast},
	}}
	for _, r := range Check(p, h) {
		fmt.Println(r.Entry.Name(), r.Current, r.Entry.Rule.Show(r.Entry.Value), r.Status)
	}
	// Output: net.core.somaxconn 4096 >= 16384 short
}
