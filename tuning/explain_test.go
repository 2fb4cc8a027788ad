package tuning

import (
	"errors"
	"strings"
	"testing"
)

func TestExplainTestdata(t *testing.T) {
	runTestdata(t, "testdata/explain", func(t *testing.T, d *testCase) string {
		if d.Cmd != "explain" || len(d.Args) != 1 {
			t.Fatalf("%s: want: explain KEY", d.Pos)
		}
		es, err := Explain(d.Args[0])
		if err != nil {
			return "error: " + err.Error()
		}
		var b strings.Builder
		if err := WriteExplain(&b, es); err != nil {
			t.Fatal(err)
		}
		return b.String()
	})
}

func TestExplainMatching(t *testing.T) {
	for _, c := range []struct {
		key      string
		profiles string // profiles of the matches, in order
	}{
		{key: "net.core.somaxconn", profiles: "edge-1m edge-50k ingest"},
		{key: "NET.CORE.SOMAXCONN", profiles: "edge-1m edge-50k ingest"},
		{key: "somaxconn", profiles: "edge-1m edge-50k ingest"},
		{key: "salam-sfu.service LimitNOFILE", profiles: "sfu"},
		{key: "rmem_max", profiles: "sfu"},
	} {
		es, err := Explain(c.key)
		if err != nil {
			t.Errorf("%s: %v", c.key, err)
			continue
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Profile)
		}
		if strings.Join(got, " ") != c.profiles {
			t.Errorf("%s: matches in %v, want %s", c.key, got, c.profiles)
		}
	}
	for _, key := range []string{"", "vm.swappiness"} {
		if _, err := Explain(key); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Explain(%q) = %v, want ErrUnknownKey", key, err)
		}
	}
}
