package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/observe"
)

// AuditRecord is one entry of the audit log: who did or saw what, when.
type AuditRecord struct {
	Seq      uint64    `json:"seq"` // 1, 2, 3… in append order
	At       time.Time `json:"at"`  // UTC, microseconds
	Actor    string    `json:"actor"`
	Action   string    `json:"action"` // e.g. "view.channel", "console.open"
	Target   string    `json:"target"` // what it concerned: a channel, a user, a trace
	Detail   string    `json:"detail,omitempty"`
	PrevHash []byte    `json:"prev_hash"` // Hash of record Seq-1; 32 zero bytes for the first
	Hash     []byte    `json:"hash"`      // AuditHash(PrevHash, record)
}

// AuditLog is the append-only audit log of the console, implemented in
// storage/postgres and storage/sqlite (table audit_log, migration 0004) and
// in storage/memory. Records are never updated or deleted: the
// implementations refuse it, and the hash chain exposes a row changed
// behind their back.
type AuditLog interface {
	// AppendAudit appends rec (At, Actor, Action, Target, Detail) as the
	// next record: in one transaction it assigns Seq = last + 1, sets
	// PrevHash to the last record's Hash (ZeroHash for the first) and
	// Hash = AuditHash(PrevHash, rec), and returns the stored record.
	// Concurrent appends are serialised; none is lost or forked.
	AppendAudit(ctx context.Context, rec AuditRecord) (AuditRecord, error)
	// AuditRecords returns up to limit records with Seq < before (0: from
	// the newest), newest first.
	AuditRecords(ctx context.Context, before uint64, limit int) ([]AuditRecord, error)
}

// ZeroHash is the PrevHash of the first record.
var ZeroHash = make([]byte, sha256.Size)

// AuditHash is sha256(prev || seq || at || len-prefixed actor, action,
// target, detail): a change of any field, or of the order, changes it.
func AuditHash(prev []byte, rec AuditRecord) []byte {
	h := sha256.New()
	h.Write(prev)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], rec.Seq)
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(rec.At.UnixMicro()))
	h.Write(b[:])
	for _, s := range []string{rec.Actor, rec.Action, rec.Target, rec.Detail} {
		binary.BigEndian.PutUint64(b[:], uint64(len(s)))
		h.Write(b[:])
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// ErrAuditChain reports a record whose hash does not follow from its
// predecessor: the log was changed outside AppendAudit.
var ErrAuditChain = errors.New("console: audit log hash chain broken")

// VerifyAuditChain checks records given newest first, as AuditRecords
// returns them (a page: its oldest record's PrevHash is trusted).
func VerifyAuditChain(recs []AuditRecord) error {
	for i, r := range recs {
		if !bytes.Equal(r.Hash, AuditHash(r.PrevHash, r)) {
			return fmt.Errorf("%w: record %d does not match its hash", ErrAuditChain, r.Seq)
		}
		if i+1 < len(recs) {
			older := recs[i+1]
			if older.Seq+1 != r.Seq || !bytes.Equal(older.Hash, r.PrevHash) {
				return fmt.Errorf("%w: record %d does not follow record %d", ErrAuditChain, r.Seq, older.Seq)
			}
		}
	}
	return nil
}

// auditor appends records and announces them on observe.AuditSubject. A
// repeat of the same actor, action and target within auditRepeat (a page
// polling a journey) is recorded once; mu guards recent.
type auditor struct {
	log AuditLog // nil: nothing is recorded (and the audit view answers 503)
	nc  *nats.Conn
	lg  *slog.Logger

	mu     sync.Mutex
	recent map[string]time.Time
}

const auditRepeat = time.Minute

// record appends one record; it reports failure so that a view whose
// audit record could not be written is not served.
func (a *auditor) record(ctx context.Context, actor, action, target, detail string) error {
	if a.log == nil {
		return nil
	}
	key := actor + "\x00" + action + "\x00" + target
	now := time.Now()
	a.mu.Lock()
	if a.recent == nil || len(a.recent) > 4096 {
		a.recent = make(map[string]time.Time)
	}
	if at, ok := a.recent[key]; ok && now.Sub(at) < auditRepeat {
		a.mu.Unlock()
		return nil
	}
	a.recent[key] = now
	a.mu.Unlock()
	rec, err := a.log.AppendAudit(ctx, AuditRecord{At: time.Now().UTC().Truncate(time.Microsecond),
		Actor: actor, Action: action, Target: target, Detail: detail})
	if err != nil {
		a.mu.Lock()
		delete(a.recent, key)
		a.mu.Unlock()
		a.lg.Warn("audit append", "action", action, "err", err)
		return err
	}
	if data, err := json.Marshal(rec); err == nil {
		a.nc.Publish(observe.AuditSubject, data)
	}
	return nil
}
