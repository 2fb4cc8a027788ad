package auth

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestDevSecretCreatesAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	s1, err := LoadOrCreateDevSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := hex.DecodeString(s1); err != nil || len(b) != 32 {
		t.Fatalf("secret %q is not 64 hex characters", s1)
	}
	path := filepath.Join(dir, DevSecretFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != s1 {
		t.Errorf("file holds %q, returned %q", data, s1)
	}
	if runtime.GOOS != "windows" {
		checkMode(t, path, 0o600)
		checkMode(t, dir, 0o700)
	}
	s2, err := LoadOrCreateDevSecret(dir)
	if err != nil || s2 != s1 {
		t.Fatalf("second call = %q, %v; want %q", s2, err, s1)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only %s (no temp files left)", len(entries), DevSecretFile)
	}
	// The secret is usable as an HS256 secret as-is.
	if err := (&Config{Secret: s1}).Validate(); err != nil {
		t.Errorf("dev secret rejected by Validate: %v", err)
	}
}

func TestDevSecretConcurrentGoroutines(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const n = 32
	secrets := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := LoadOrCreateDevSecret(dir)
			if err != nil {
				t.Errorf("goroutine %d: %v", i, err)
			}
			secrets[i] = s
		})
	}
	wg.Wait()
	for i, s := range secrets {
		if s != secrets[0] || s == "" {
			t.Fatalf("goroutine %d got %q, goroutine 0 got %q", i, s, secrets[0])
		}
	}
}

// TestDevSecretConcurrentProcesses runs the test binary as several processes
// racing on one fresh data directory.
func TestDevSecretConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("SALAM_AUTH_DEV_SECRET_CHILD"); dir != "" {
		s, err := LoadOrCreateDevSecret(dir)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("secret:" + s)
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := filepath.Join(t.TempDir(), "data")
	const n = 6
	cmds := make([]*exec.Cmd, n)
	outs := make([]strings.Builder, n)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestDevSecretConcurrentProcesses$")
		cmds[i].Env = append(os.Environ(), "SALAM_AUTH_DEV_SECRET_CHILD="+dir)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	var first string
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, outs[i].String())
		}
		_, s, ok := strings.Cut(outs[i].String(), "secret:")
		s = strings.TrimSpace(s)
		if !ok || len(s) != 64 {
			t.Fatalf("child %d output: %q", i, outs[i].String())
		}
		if i == 0 {
			first = s
		} else if s != first {
			t.Fatalf("child %d got %q, child 0 got %q", i, s, first)
		}
	}
	if s, err := LoadOrCreateDevSecret(dir); err != nil || s != first {
		t.Fatalf("parent got %q, %v; children got %q", s, err, first)
	}
}

func TestDevSecretRefusesBadFile(t *testing.T) {
	valid := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		ok      bool
	}{
		{name: "valid with trailing newline", content: valid + "\n", mode: 0o600, ok: true},
		{name: "valid read-only", content: valid, mode: 0o400, ok: true},
		{name: "group readable", content: valid, mode: 0o640},
		{name: "world readable", content: valid, mode: 0o644},
		{name: "not hex", content: strings.Repeat("zz", 32), mode: 0o600},
		{name: "too short", content: "abcd", mode: 0o600},
		{name: "too long", content: valid + "ab", mode: 0o600},
		{name: "empty", content: "", mode: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.mode&0o077 != 0 {
				t.Skip("no POSIX modes")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, DevSecretFile)
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // umask-proof
				t.Fatal(err)
			}
			s, err := LoadOrCreateDevSecret(dir)
			if tt.ok {
				if err != nil || s != valid {
					t.Fatalf("LoadOrCreateDevSecret = %q, %v; want %q", s, err, valid)
				}
				return
			}
			if !errors.Is(err, ErrDevSecret) {
				t.Fatalf("LoadOrCreateDevSecret = %q, %v; want ErrDevSecret", s, err)
			}
			if data, _ := os.ReadFile(path); string(data) != tt.content {
				t.Errorf("bad file was replaced")
			}
		})
	}
}

func TestDevSecretEmptyDir(t *testing.T) {
	if _, err := LoadOrCreateDevSecret(""); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("LoadOrCreateDevSecret(\"\") = %v, want ErrInvalidArgument", err)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s mode = %#o, want %#o", path, got, want)
	}
}
