package tuning

import (
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	want := []string{"edge-1m", "edge-50k", "ingest", "sfu"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, bad := range []string{"nope", "../profiles/edge-50k", "", "edge-50k.yaml"} {
		if _, err := Load(bad); !errors.Is(err, ErrUnknownProfile) {
			t.Errorf("Load(%q) = %v, want ErrUnknownProfile", bad, err)
		}
	}
}

// Every embedded profile loads and validates (known kinds, rules that
// parse their values, a why on every entry), and every entry carries its
// profile's name.
func TestProfilesValidate(t *testing.T) {
	for _, name := range Names() {
		p, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.About == "" {
			t.Errorf("%s: no about", name)
		}
		for _, e := range p.Entries {
			if e.Profile != name {
				t.Errorf("%s: entry %s has profile %q", name, e.Name(), e.Profile)
			}
			if len(strings.Fields(e.Why)) < 8 {
				t.Errorf("%s: %s: why is too thin to explain anything: %q", name, e.Name(), e.Why)
			}
		}
	}
}

// The values of one profile must agree with each other and the kernel.
func TestProfilesConsistent(t *testing.T) {
	for _, name := range Names() {
		p := mustLoad(t, name)
		v := map[string]*big.Int{}
		for _, e := range p.Entries {
			if e.Rule.arity() == 1 {
				n, _ := parseInts(e.Value, 1)
				v[e.Name()] = n[0]
			}
		}
		get := func(k string, def int64) *big.Int {
			if x, ok := v[k]; ok {
				return x
			}
			return big.NewInt(def)
		}
		nrOpen := get("fs.nr_open", 1<<20) // the kernel default when a profile does not raise it
		for _, e := range p.Entries {
			if (e.Kind == Ulimit || e.Kind == Systemd) && v[e.Name()].Cmp(nrOpen) > 0 {
				t.Errorf("%s: %s %s exceeds fs.nr_open %s: setrlimit would fail", name, e.Name(), e.Value, nrOpen)
			}
		}
		if s := get("net.core.somaxconn", 0); s.Cmp(big.NewInt(65535)) > 0 {
			t.Errorf("%s: somaxconn %s: older kernels keep the backlog in 16 bits", name, s)
		}
		if syn, s := get("net.ipv4.tcp_max_syn_backlog", 0), get("net.core.somaxconn", 0); syn.Cmp(s) < 0 {
			t.Errorf("%s: tcp_max_syn_backlog %s below somaxconn %s", name, syn, s)
		}
		if _, ok := v["net.ipv4.tcp_keepalive_time"]; ok {
			total := new(big.Int).Mul(get("net.ipv4.tcp_keepalive_intvl", 75), get("net.ipv4.tcp_keepalive_probes", 9))
			total.Add(total, v["net.ipv4.tcp_keepalive_time"])
			if total.Cmp(big.NewInt(90)) > 0 {
				t.Errorf("%s: keepalive drops a dead peer after %s s, the product's bound is 90 s", name, total)
			}
		}
	}
}

func TestParseTestdata(t *testing.T) {
	runTestdata(t, "testdata/parse", func(t *testing.T, d *testCase) string {
		p, err := Parse(d.KV["name"], []byte(d.Input))
		if err != nil {
			if !errors.Is(err, ErrInvalidProfile) {
				t.Errorf("error does not wrap ErrInvalidProfile: %v", err)
			}
			return "error: " + err.Error()
		}
		return "ok: " + p.Name
	})
}
