package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
)

// crashChildEnv, when set to a database path, turns the test binary into
// the child of TestCrashLosesNoCommittedAppend.
const crashChildEnv = "SALAM_SQLITE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		os.Exit(crashChild(path))
	}
	os.Exit(m.Run())
}

// crashChild appends batches of 1–16 messages to channel "g" until it is
// killed, writing each committed batch's last sequence to stdout (one
// unbuffered write per line, after Append returned).
func crashChild(path string) int {
	ctx := context.Background()
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_, err = s.CreateChannel(ctx, chat.Channel{ID: "g", Kind: chat.KindGroup, CreatedBy: "c", CreatedAt: time.Now()}, "c")
	if err != nil && !errors.Is(err, chat.ErrExists) {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pid := os.Getpid()
	body := bytes.Repeat([]byte("x"), 500)
	for i := 0; ; i++ {
		batch := make([]chat.NewMessage, 1+i%16)
		for j := range batch {
			batch[j] = chat.NewMessage{Channel: "g", Sender: "c", ClientID: fmt.Sprintf("%d-%d-%d", pid, i, j),
				ContentType: "text/plain", Body: body, CreatedAt: time.Now()}
		}
		res, err := s.Append(ctx, batch)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		os.Stdout.WriteString(strconv.FormatUint(res[len(res)-1].Message.Seq, 10) + "\n")
	}
}

// TestCrashLosesNoCommittedAppend kills a child process appending in a
// loop with SIGKILL, five times over, and checks that every batch it
// reported committed survived and that the sequences are gap-free.
func TestCrashLosesNoCommittedAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "chat.db")
	var last uint64 // highest sequence any child reported
	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		read := func() bool {
			if !lines.Scan() {
				return false
			}
			seq, err := strconv.ParseUint(lines.Text(), 10, 64)
			if err != nil || seq <= last {
				t.Errorf("round %d: child reported %q after %d", round, lines.Text(), last)
			}
			last = seq
			return true
		}
		for n := 0; n < 50+round*37 && read(); n++ {
		}
		// Let the child run on for a moment, so that the kill lands
		// anywhere in an Append: between statements, in the commit, in
		// the write of its report.
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for read() { // what the child wrote before it died
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child did not die of SIGKILL: %v\n%s", round, err, stderr.Bytes())
		}
		t.Logf("round %d: killed after sequence %d", round, last)
	}

	s := openPath(t, path, Options{})
	ch, err := s.Channel(t.Context(), "g")
	if err != nil {
		t.Fatal(err)
	}
	if ch.LastSeq < last {
		t.Fatalf("LastSeq %d after the crashes, but a child reported %d committed", ch.LastSeq, last)
	}
	checkGapFree(t, s, "g", ch.LastSeq)
	t.Logf("after the crashes: LastSeq %d, last reported %d", ch.LastSeq, last)
	var integrity string
	if err := s.r.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity check: %q, %v", integrity, err)
	}
	var fkViolations int
	if err := s.r.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fkViolations); err != nil || fkViolations != 0 {
		t.Errorf("foreign key check: %d violations, %v", fkViolations, err)
	}
}
