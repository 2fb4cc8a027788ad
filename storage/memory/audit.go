package memory

import (
	"context"
	"sync"

	"github.com/salamhq/salam/core/console"
)

// Audit is an in-memory console.AuditLog, for tests; it forgets everything
// when the process ends. mu guards recs.
type Audit struct {
	mu   sync.Mutex
	recs []console.AuditRecord
}

var _ console.AuditLog = (*Audit)(nil)

// AppendAudit implements console.AuditLog.
func (a *Audit) AppendAudit(_ context.Context, rec console.AuditRecord) (console.AuditRecord, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec.Seq, rec.PrevHash = uint64(len(a.recs))+1, console.ZeroHash
	if len(a.recs) > 0 {
		rec.PrevHash = a.recs[len(a.recs)-1].Hash
	}
	rec.Hash = console.AuditHash(rec.PrevHash, rec)
	a.recs = append(a.recs, rec)
	return rec, nil
}

// AuditRecords implements console.AuditLog.
func (a *Audit) AuditRecords(_ context.Context, before uint64, limit int) ([]console.AuditRecord, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	end := len(a.recs)
	if before != 0 && before-1 < uint64(end) {
		end = int(before - 1)
	}
	var out []console.AuditRecord
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, a.recs[i])
	}
	return out, nil
}
