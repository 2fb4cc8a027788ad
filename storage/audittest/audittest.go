// Package audittest is the contract suite every console.AuditLog
// implementation passes (storage/memory, storage/sqlite, storage/postgres).
package audittest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/salamhq/salam/core/console"
)

// Run runs the suite; open returns an empty log.
func Run(t *testing.T, open func(t *testing.T) console.AuditLog) {
	t.Run("AppendChains", func(t *testing.T) { appendChains(t, open(t)) })
	t.Run("Pages", func(t *testing.T) { pages(t, open(t)) })
	t.Run("ConcurrentAppendsDoNotFork", func(t *testing.T) { concurrent(t, open(t)) })
}

func rec(i int) console.AuditRecord {
	return console.AuditRecord{At: time.Unix(1_800_000_000, int64(i)*1000).UTC(), Actor: "ops",
		Action: "view.channel", Target: fmt.Sprint("ch", i), Detail: "d"}
}

func appendChains(t *testing.T, log console.AuditLog) {
	ctx := context.Background()
	var prev []byte = console.ZeroHash
	for i := 1; i <= 3; i++ {
		got, err := log.AppendAudit(ctx, rec(i))
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != uint64(i) || !bytes.Equal(got.PrevHash, prev) || !bytes.Equal(got.Hash, console.AuditHash(prev, got)) {
			t.Fatalf("record %d: %+v", i, got)
		}
		prev = got.Hash
	}
	recs, err := log.AuditRecords(ctx, 0, 10)
	if err != nil || len(recs) != 3 || recs[0].Seq != 3 || recs[2].Seq != 1 {
		t.Fatalf("AuditRecords = %+v, %v", recs, err)
	}
	if recs[1].Target != "ch2" || !recs[1].At.Equal(rec(2).At) || recs[1].Actor != "ops" || recs[1].Detail != "d" {
		t.Errorf("record 2 read back as %+v", recs[1])
	}
	if err := console.VerifyAuditChain(recs); err != nil {
		t.Fatal(err)
	}
	recs[1].Target = "elsewhere"
	if err := console.VerifyAuditChain(recs); err == nil {
		t.Error("a changed record verified")
	}
}

func pages(t *testing.T, log console.AuditLog) {
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		if _, err := log.AppendAudit(ctx, rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := log.AuditRecords(ctx, 4, 2)
	if err != nil || len(recs) != 2 || recs[0].Seq != 3 || recs[1].Seq != 2 {
		t.Fatalf("page before 4: %+v, %v", recs, err)
	}
	if recs, err := log.AuditRecords(ctx, 1, 10); err != nil || len(recs) != 0 {
		t.Fatalf("page before 1: %+v, %v", recs, err)
	}
}

func concurrent(t *testing.T, log console.AuditLog) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				if _, err := log.AppendAudit(ctx, rec(w*10+i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	recs, err := log.AuditRecords(ctx, 0, 100)
	if err != nil || len(recs) != 20 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if err := console.VerifyAuditChain(recs); err != nil {
		t.Fatal(err)
	}
}
