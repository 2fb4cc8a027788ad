package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// DevSecretFile is the file name of the dev secret inside the data directory.
const DevSecretFile = "dev-secret"

const (
	devSecretBytes = 32
	// devSecretWait bounds how long a loser of the creation race waits for
	// the winner's content; only the non-link fallback can expose a file
	// before it is written.
	devSecretWait = 2 * time.Second
)

// LoadOrCreateDevSecret returns the HS256 secret of the embedded default
// (`salam up`): the content of <dataDir>/dev-secret, 64 hex characters
// encoding 32 bytes from crypto/rand. The first call creates the file (mode
// 0600) and, if needed, dataDir (mode 0700); later calls reuse it. Concurrent
// first calls, from goroutines or processes, all return the same secret: the
// file is written under a temporary name and hard-linked into place, which
// fails if another caller got there first.
//
// An existing file that is not 64 hex characters, or (outside Windows) is
// readable or writable by group or others, is refused with ErrDevSecret
// rather than silently replaced.
func LoadOrCreateDevSecret(dataDir string) (string, error) {
	if dataDir == "" {
		return "", fmt.Errorf("%w: dev secret: empty data directory", ErrInvalidArgument)
	}
	path := filepath.Join(dataDir, DevSecretFile)
	secret, err := readDevSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("auth: dev secret: %w", err)
	}
	var b [devSecretBytes]byte
	rand.Read(b[:]) // never fails since Go 1.24
	secret = hex.EncodeToString(b[:])

	err = publishDevSecret(dataDir, path, secret)
	if err == nil {
		return secret, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("auth: dev secret: %w", err)
	}
	// Another caller won the race: use its secret.
	deadline := time.Now().Add(devSecretWait)
	for {
		secret, err = readDevSecret(path)
		if err == nil || !errors.Is(err, errShortDevSecret) || time.Now().After(deadline) {
			return secret, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// errShortDevSecret marks a file that may still be being written.
var errShortDevSecret = errors.New("too short")

// publishDevSecret makes path hold secret unless it exists already, in which
// case the error wraps fs.ErrExist.
func publishDevSecret(dir, path, secret string) error {
	tmp, err := os.CreateTemp(dir, ".dev-secret-*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	_, err = tmp.WriteString(secret)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// link(2) never replaces: complete file or EEXIST, nothing in between.
	err = os.Link(tmpName, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// Filesystems without hard links: exclusive create, written in place.
	// Racing readers may see it short for a moment; they retry.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(secret)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readDevSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("auth: dev secret: %w", err)
	}
	defer f.Close()
	if runtime.GOOS != "windows" {
		fi, err := f.Stat()
		if err != nil {
			return "", fmt.Errorf("auth: dev secret: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			return "", fmt.Errorf("%w: %s has mode %#o, want 0600 (chmod 600 it, or delete it to make a new one)",
				ErrDevSecret, path, perm)
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, 4*devSecretBytes))
	if err != nil {
		return "", fmt.Errorf("auth: dev secret: %w", err)
	}
	s := strings.TrimSpace(string(data))
	if len(s) < 2*devSecretBytes && strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		return "", fmt.Errorf("%w: %s: %w", ErrDevSecret, path, errShortDevSecret)
	}
	if len(s) != 2*devSecretBytes || strings.Trim(s, "0123456789abcdefABCDEF") != "" {
		return "", fmt.Errorf("%w: %s is not %d hex characters (delete it to make a new one)",
			ErrDevSecret, path, 2*devSecretBytes)
	}
	return s, nil
}
