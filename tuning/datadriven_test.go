package tuning

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected outputs in testdata/")

// testCase is one directive of a data-driven file, in the style of
// pebble's datadriven package:
//
//	# comment
//	command arg key=value
//	input lines
//	----
//	expected output, ended by a blank line
//
// Output that itself contains blank lines sits between "----\n----" and
// "----\n----".
type testCase struct {
	Pos      string // file:line of the command
	Cmd      string
	Args     []string          // bare words after the command
	KV       map[string]string // key=value words
	Input    string
	Expected string
}

// runTestdata runs f on every directive of path and compares its output
// with the expected one; with -update it rewrites the file instead.
func runTestdata(t *testing.T, path string, f func(t *testing.T, d *testCase) string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var out strings.Builder
	for i := 0; i < len(lines); {
		if line := lines[i]; strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			i++
			continue
		}
		d := &testCase{Pos: fmt.Sprintf("%s:%d", filepath.Base(path), i+1), KV: map[string]string{}}
		fields := strings.Fields(lines[i])
		d.Cmd = fields[0]
		for _, w := range fields[1:] {
			if k, v, ok := strings.Cut(w, "="); ok {
				d.KV[k] = v
			} else {
				d.Args = append(d.Args, w)
			}
		}
		start := i
		for i++; i < len(lines) && lines[i] != "----"; i++ {
		}
		if i == len(lines) {
			t.Fatalf("%s: no ---- after the command", d.Pos)
		}
		d.Input = strings.Join(lines[start+1:i], "\n")
		header := lines[start : i+1]
		i++
		var exp []string
		if i < len(lines) && lines[i] == "----" {
			for i++; i+1 < len(lines) && (lines[i] != "----" || lines[i+1] != "----"); i++ {
				exp = append(exp, lines[i])
			}
			i += 2
		} else {
			for ; i < len(lines) && lines[i] != ""; i++ {
				exp = append(exp, lines[i])
			}
		}
		d.Expected = strings.Join(exp, "\n")

		var got string
		t.Run(strings.ReplaceAll(d.Pos+"/"+strings.Join(fields, "_"), "=", "-"), func(t *testing.T) {
			got = strings.TrimRight(f(t, d), "\n")
			if !*update && got != d.Expected {
				t.Errorf("%s: output differs (run with -update to accept)\n--- got\n%s\n--- want\n%s", d.Pos, got, d.Expected)
			}
		})
		out.WriteString(strings.Join(header, "\n") + "\n")
		if strings.Contains(got, "\n\n") {
			out.WriteString("----\n" + got + "\n----\n----\n")
		} else if got != "" {
			out.WriteString(got + "\n")
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
