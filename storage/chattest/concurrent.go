package chattest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/salamhq/salam/core/chat"
)

func runAppendConcurrent(t *testing.T, open Opener) {
	t.Run("GapFree", func(t *testing.T) {
		const writers, perWriter = 8, 200
		f := setup(t, open)
		f.group("g", 0)
		f.group("quiet", 0)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				rnd := rand.New(rand.NewPCG(uint64(w), 1))
				sender := fmt.Sprintf("w%d", w)
				var last uint64
				for sent := 0; sent < perWriter; {
					n := min(1+rnd.IntN(20), perWriter-sent)
					batch := make([]chat.NewMessage, n)
					for i := range batch {
						id := fmt.Sprintf("%s-%03d", sender, sent+i)
						batch[i] = chat.NewMessage{Channel: "g", Sender: sender, ClientID: id,
							ContentType: "text/plain", Body: []byte(id), CreatedAt: base}
					}
					res, err := f.s.Append(f.ctx, batch)
					if err != nil {
						t.Errorf("%s: Append: %v", sender, err)
						return
					}
					for i, r := range res {
						if r.Err != nil || r.Duplicate {
							t.Errorf("%s: %s: err %v, duplicate %v", sender, batch[i].ClientID, r.Err, r.Duplicate)
							return
						}
						if r.Message.Seq <= last {
							t.Errorf("%s: seq %d after %d: not increasing in commit order", sender, r.Message.Seq, last)
						}
						last = r.Message.Seq
					}
					sent += n
				}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		const total = writers * perWriter
		if ls := f.channel("g").LastSeq; ls != total {
			t.Errorf("LastSeq %d, want %d", ls, total)
		}
		if ls := f.channel("quiet").LastSeq; ls != 0 {
			t.Errorf("LastSeq of an untouched channel %d, want 0", ls)
		}
		checkAll(t, f, "g", total, func(m chat.Message) bool { return string(m.Body) == m.ClientID })
	})

	t.Run("RetryStorm", func(t *testing.T) {
		const keys, retriers = 100, 4
		f := setup(t, open)
		f.group("g", 0)
		type outcome struct {
			seq uint64
			dup bool
		}
		var (
			mu  sync.Mutex
			got = map[string][]outcome{}
			wg  sync.WaitGroup
		)
		start := make(chan struct{})
		for w := range retriers {
			wg.Go(func() {
				<-start
				rnd := rand.New(rand.NewPCG(uint64(w), 2))
				order := rnd.Perm(keys)
				for len(order) > 0 {
					n := min(1+rnd.IntN(10), len(order))
					batch := make([]chat.NewMessage, n)
					for i, k := range order[:n] {
						id := fmt.Sprintf("k%03d", k)
						batch[i] = chat.NewMessage{Channel: "g", Sender: "storm", ClientID: id,
							ContentType: "text/plain", Body: []byte(id), CreatedAt: base}
					}
					order = order[n:]
					res, err := f.s.Append(f.ctx, batch)
					if err != nil {
						t.Errorf("retrier %d: Append: %v", w, err)
						return
					}
					mu.Lock()
					for i, r := range res {
						if r.Err != nil {
							t.Errorf("retrier %d: %s: %v", w, batch[i].ClientID, r.Err)
							continue
						}
						got[batch[i].ClientID] = append(got[batch[i].ClientID], outcome{r.Message.Seq, r.Duplicate})
					}
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		for id, outs := range got {
			fresh := 0
			for _, o := range outs {
				if !o.dup {
					fresh++
				}
				if o.seq != outs[0].seq {
					t.Errorf("%s stored as #%d and #%d", id, outs[0].seq, o.seq)
				}
			}
			if len(outs) != retriers || fresh != 1 {
				t.Errorf("%s: %d results, %d of them new; want %d results, 1 new", id, len(outs), fresh, retriers)
			}
		}
		if ls := f.channel("g").LastSeq; ls != keys {
			t.Errorf("LastSeq %d, want %d", ls, keys)
		}
		checkAll(t, f, "g", keys, func(m chat.Message) bool {
			o := got[m.ClientID]
			return len(o) > 0 && o[0].seq == m.Seq
		})
	})
}

// checkAll pages through channel from the newest message back (After 0
// cannot start a page at the beginning: 0 means "not set") and checks that
// it holds exactly the sequences n..1, each client id once, each message
// accepted by ok.
func checkAll(t *testing.T, f *fixture, channel string, n uint64, ok func(chat.Message) bool) {
	t.Helper()
	seen := map[string]uint64{}
	next := n
	for before := uint64(0); ; {
		page, more, err := f.s.History(f.ctx, chat.HistoryQuery{Channel: channel, Before: before, Limit: chat.MaxHistoryLimit})
		if err != nil {
			t.Fatalf("History(before %d): %v", before, err)
		}
		for _, m := range page {
			if m.Seq != next {
				t.Fatalf("History: seq %d where %d was expected", m.Seq, next)
			}
			key := m.Sender + "\x00" + m.ClientID
			if prev, dup := seen[key]; dup {
				t.Errorf("%s/%s stored twice: #%d and #%d", m.Sender, m.ClientID, prev, m.Seq)
			}
			seen[key] = m.Seq
			if !ok(m) {
				t.Errorf("message #%d (%s/%s) does not match what was appended", m.Seq, m.Sender, m.ClientID)
			}
			next--
		}
		if !more {
			break
		}
		if len(page) == 0 {
			t.Fatalf("History(before %d): empty page with more set", before)
		}
		before = page[len(page)-1].Seq
	}
	if next != 0 {
		t.Errorf("History ends at #%d, want #1", next+1)
	}
}
