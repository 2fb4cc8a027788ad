package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// serverWire is the reference package in the repository; it is absent when
// the SDK is used from the module cache, and then the check is skipped.
const serverWire = "../../../wire"

// notCopied are the server's files the SDK leaves out: its own doc, and the
// adapter to a third-party msgpack library.
var notCopied = []string{"doc.go", "msgpack_lib.go"}

// TestSyncedWithServer keeps this copy byte-identical to the server's codec.
// On failure run `make sdk-wire` (go generate ./wire in sdk/go).
func TestSyncedWithServer(t *testing.T) {
	server, err := filepath.Glob(filepath.Join(serverWire, "*.go"))
	if err != nil || len(server) == 0 {
		t.Skip("not inside the salam repository")
	}
	var want []string
	for _, p := range server {
		name := filepath.Base(p)
		if strings.HasSuffix(name, "_test.go") || slices.Contains(notCopied, name) {
			continue
		}
		want = append(want, name)
		ref, _ := os.ReadFile(p)
		got, err := os.ReadFile(name)
		if err != nil || !bytes.Equal(got, ref) {
			t.Errorf("%s differs from %s: run `make sdk-wire`", name, p)
		}
	}
	own, _ := filepath.Glob("*.go")
	for _, name := range own {
		if !strings.HasSuffix(name, "_test.go") && name != "doc.go" && name != "generate.go" && !slices.Contains(want, name) {
			t.Errorf("%s is not in %s any more: remove it and run `make sdk-wire`", name, serverWire)
		}
	}
	gen, _ := os.ReadFile("generate.go")
	if !strings.Contains(string(gen), "cp "+strings.Join(want, " ")+" ") {
		t.Errorf("generate.go must copy exactly %v", want)
	}
}
