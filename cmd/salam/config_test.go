package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// deploy/salam.sample.yaml lists every configuration key, and nothing else:
// it is how operators learn the keys, so a key missing there is a bug.
func TestSampleConfigIsComplete(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/salam.sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var sample map[string]any
	if err := yaml.Unmarshal(raw, &sample); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	yamlKeys(reflect.TypeOf(config{}), "", want)
	have := map[string]bool{}
	sampleKeys(sample, "", have)
	for k := range want {
		if !have[k] {
			t.Errorf("deploy/salam.sample.yaml lacks %s", k)
		}
	}
	for k := range have {
		if !want[k] {
			t.Errorf("deploy/salam.sample.yaml has %s, which is no configuration key", k)
		}
	}
	// And the sample parses as a configuration.
	path := t.TempDir() + "/salam.yaml"
	os.WriteFile(path, raw, 0o600)
	if _, err := parseConfig("up", []string{"--config", path}); err != nil {
		t.Errorf("the sample does not parse: %v", err)
	}
}

// yamlKeys collects the dotted YAML keys of the leaves of t.
func yamlKeys(t reflect.Type, prefix string, out map[string]bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type.String() != "time.Time" {
			yamlKeys(f.Type, prefix+name+".", out)
			continue
		}
		out[prefix+name] = true
	}
}

func sampleKeys(m map[string]any, prefix string, out map[string]bool) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			sampleKeys(sub, prefix+k+".", out)
			continue
		}
		out[prefix+k] = true
	}
}
