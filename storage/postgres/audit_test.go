package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/salamhq/salam/core/console"
	"github.com/salamhq/salam/storage/audittest"
)

func TestAuditContract(t *testing.T) {
	testURL(t)
	audittest.Run(t, func(t *testing.T) console.AuditLog { return openTest(t) })
}

// The table refuses changes: the log is append-only below the API too.
func TestAuditIsAppendOnly(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.AppendAudit(ctx, console.AuditRecord{At: time.Now(), Actor: "ops", Action: "a"}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`UPDATE audit_log SET actor = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := s.pool.Exec(ctx, stmt); err == nil {
			t.Errorf("%s succeeded", stmt)
		}
	}
}
