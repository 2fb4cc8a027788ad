package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/salamhq/salam/core/console"
	"github.com/salamhq/salam/storage/audittest"
)

func TestAuditContract(t *testing.T) {
	audittest.Run(t, func(t *testing.T) console.AuditLog {
		return openPath(t, filepath.Join(t.TempDir(), "audit.db"), Options{})
	})
}

// The table refuses changes: the log is append-only below the API too.
func TestAuditIsAppendOnly(t *testing.T) {
	s := openPath(t, filepath.Join(t.TempDir(), "audit.db"), Options{})
	if _, err := s.AppendAudit(context.Background(), console.AuditRecord{At: time.Now(), Actor: "ops", Action: "a"}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`UPDATE audit_log SET actor = 'x'`, `DELETE FROM audit_log`} {
		if _, err := s.w.Exec(stmt); err == nil {
			t.Errorf("%s succeeded", stmt)
		}
	}
}
