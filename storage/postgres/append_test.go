package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
)

// twoStores opens two Stores with separate pools on one fresh schema, as
// two core processes sharing a database, and creates the channels on it.
func twoStores(t *testing.T, channels ...string) (*Store, *Store) {
	t.Helper()
	schema := testSchema(t)
	a, b := openSchema(t, schema, 4), openSchema(t, schema, 4)
	for _, id := range channels {
		if _, err := a.CreateChannel(t.Context(), chat.Channel{ID: id, Kind: chat.KindGroup, CreatedBy: "o"}, "o"); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

func textMsg(channel, sender, id string) chat.NewMessage {
	return chat.NewMessage{Channel: channel, Sender: sender, ClientID: id, ContentType: "text/plain", Body: []byte(id)}
}

// checkGapFree reads channel back, newest first (After 0 cannot ask for
// the oldest page: it means no anchor), and checks it holds exactly n..1,
// each body equal to its client id.
func checkGapFree(t *testing.T, s *Store, channel string, n int) {
	t.Helper()
	ctx := t.Context()
	ch, err := s.Channel(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	if ch.LastSeq != uint64(n) {
		t.Errorf("%s: LastSeq %d, want %d", channel, ch.LastSeq, n)
	}
	next, read := uint64(n), 0
	for before := uint64(0); ; {
		page, more, err := s.History(ctx, chat.HistoryQuery{Channel: channel, Before: before, Limit: chat.MaxHistoryLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			if m.Seq != next {
				t.Fatalf("%s: seq %d where %d was expected", channel, m.Seq, next)
			}
			if string(m.Body) != m.ClientID {
				t.Errorf("%s #%d: body %q under client id %q", channel, m.Seq, m.Body, m.ClientID)
			}
			next--
			read++
		}
		if !more || len(page) == 0 {
			break
		}
		before = page[len(page)-1].Seq
	}
	if read != n {
		t.Errorf("%s: %d messages stored, want %d", channel, read, n)
	}
}

// Two processes append to the same channels at once, in batches that name
// several channels in random order: every channel ends up numbered 1..n
// without a gap, and no batch deadlocks or fails.
func TestAppendTwoStoresGapFree(t *testing.T) {
	channels := []string{"c0", "c1", "c2", "c3"}
	a, b := twoStores(t, channels...)
	const writers, batches = 6, 40 // per store
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		count = map[string]int{}
	)
	start := make(chan struct{})
	for w := range 2 * writers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			var last = map[string]uint64{}
			for i := range batches {
				batch := make([]chat.NewMessage, 1+rnd.IntN(30))
				for j := range batch {
					ch := channels[rnd.IntN(len(channels))]
					batch[j] = textMsg(ch, fmt.Sprintf("w%d", w), fmt.Sprintf("w%d-%d-%d", w, i, j))
				}
				res, err := s.Append(t.Context(), batch)
				if err != nil {
					t.Errorf("writer %d: Append: %v", w, err)
					return
				}
				mu.Lock()
				for j, r := range res {
					ch := batch[j].Channel
					if r.Err != nil || r.Duplicate || r.Message.Seq <= last[ch] {
						t.Errorf("writer %d: result %+v after seq %d", w, r, last[ch])
					}
					last[ch] = r.Message.Seq
					count[ch]++
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	for _, ch := range channels {
		checkGapFree(t, a, ch, count[ch])
	}
}

// Two processes retry the same sends at once: each key is stored once, and
// every result for it reports that one message. In the first phase each
// retrier sends the keys in its own order, in batches over two channels
// (which lock their channels before reading the keys); in the second all
// four send the same one-channel batch at the same moment, so that most of
// them collide with a winner that committed after their snapshot and run
// again.
func TestAppendTwoStoresDuplicateRace(t *testing.T) {
	a, b := twoStores(t, "g", "h")
	const keys = 300 // per phase
	type outcome struct {
		seq uint64
		dup bool
	}
	var (
		mu  sync.Mutex
		got = map[string][]outcome{}
	)
	send := func(w int, s *Store, batch []chat.NewMessage) {
		res, err := s.Append(t.Context(), batch)
		if err != nil {
			t.Errorf("retrier %d: Append: %v", w, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for i, r := range res {
			if r.Err != nil {
				t.Errorf("retrier %d: %s: %v", w, batch[i].ClientID, r.Err)
				continue
			}
			got[batch[i].ClientID] = append(got[batch[i].ClientID], outcome{r.Message.Seq, r.Duplicate})
		}
	}
	key := func(k int) chat.NewMessage { return textMsg([]string{"g", "h"}[k%2], "u", fmt.Sprintf("k%04d", k)) }
	retriers := []*Store{a, b, a, b}

	var wg sync.WaitGroup
	for w, s := range retriers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 9))
			order := rnd.Perm(keys)
			for len(order) > 0 {
				n := min(1+rnd.IntN(40), len(order))
				batch := make([]chat.NewMessage, n)
				for i, k := range order[:n] {
					batch[i] = key(k)
				}
				order = order[n:]
				send(w, s, batch)
			}
		})
	}
	wg.Wait()

	for round := 0; round < keys; round += 10 {
		batch := make([]chat.NewMessage, 10)
		for i := range batch {
			batch[i] = textMsg("g", "u", fmt.Sprintf("k%04d", keys+round+i))
		}
		start := make(chan struct{})
		for w, s := range retriers {
			wg.Go(func() {
				<-start
				send(w, s, batch)
			})
		}
		close(start)
		wg.Wait()
	}

	if len(got) != 2*keys {
		t.Errorf("results for %d keys, want %d", len(got), 2*keys)
	}
	for id, outs := range got {
		fresh := 0
		for _, o := range outs {
			if !o.dup {
				fresh++
			}
			if o.seq != outs[0].seq {
				t.Errorf("%s reported as #%d and #%d", id, outs[0].seq, o.seq)
			}
		}
		if len(outs) != len(retriers) || fresh != 1 {
			t.Errorf("%s: %d results, %d new; want %d results, 1 new", id, len(outs), fresh, len(retriers))
		}
	}
	checkGapFree(t, a, "g", keys/2+keys)
	checkGapFree(t, a, "h", keys/2)
	t.Logf("batches run again after losing a race: %d", a.appendRetries.Load()+b.appendRetries.Load())
}

// Two batches in different channels reuse each other's keys in opposite
// orders. Keys are inserted in key order, so neither waits for the other in
// a cycle; each key ends up stored once, in one channel, and the other
// batch gets ErrConflict for it.
func TestAppendCrossChannelKeyRace(t *testing.T) {
	a, b := twoStores(t, "x", "y")
	for round := range 20 {
		var (
			k1, k2 = fmt.Sprintf("r%d-1", round), fmt.Sprintf("r%d-2", round)
			res    [2][]chat.AppendResult
			wg     sync.WaitGroup
		)
		start := make(chan struct{})
		for i, s := range []*Store{a, b} {
			batch := []chat.NewMessage{textMsg("x", "u", k1), textMsg("x", "u", k2)}
			if i == 1 {
				batch = []chat.NewMessage{textMsg("y", "u", k2), textMsg("y", "u", k1)}
			}
			wg.Go(func() {
				<-start
				r, err := s.Append(t.Context(), batch)
				if err != nil {
					t.Errorf("round %d store %d: %v", round, i, err)
				}
				res[i] = r
			})
		}
		began := time.Now()
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		if d := time.Since(began); d > 900*time.Millisecond {
			t.Errorf("round %d took %v: a deadlock was detected and broken (deadlock_timeout)", round, d)
		}
		stored := 0
		for _, r := range append(res[0], res[1]...) {
			switch {
			case r.Err == nil && !r.Duplicate:
				stored++
			case !errors.Is(r.Err, chat.ErrConflict):
				t.Errorf("round %d: result %+v, want stored or ErrConflict", round, r)
			}
		}
		if stored != 2 {
			t.Errorf("round %d: %d messages stored, want 2 (each key once)", round, stored)
		}
	}
}

// DeleteChannel races with appends to the channel: once both are done, no
// message is left without its channel (messages.channel has no foreign key;
// see the migration), and appends that lost the race report ErrNotFound.
func TestDeleteChannelRacesAppend(t *testing.T) {
	a, b := twoStores(t)
	ctx := t.Context()
	for round := range 10 {
		ch := fmt.Sprintf("r%d", round)
		if _, err := a.CreateChannel(ctx, chat.Channel{ID: ch, Kind: chat.KindGroup}, "o"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				for i := 0; ; i++ {
					res, err := b.Append(ctx, []chat.NewMessage{textMsg(ch, "u", fmt.Sprintf("%s-%d-%d", ch, w, i))})
					if err != nil {
						t.Errorf("Append: %v", err)
						return
					}
					if errors.Is(res[0].Err, chat.ErrNotFound) {
						return
					}
					if res[0].Err != nil {
						t.Errorf("Append: %v", res[0].Err)
						return
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond) // let the appends run: the race needs them in flight
		if err := a.DeleteChannel(ctx, ch); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
	var orphans int
	err := a.pool.QueryRow(ctx, `SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT FROM channels c WHERE c.id = m.channel)`).Scan(&orphans)
	if err != nil || orphans != 0 {
		t.Errorf("%d messages without a channel (%v), want 0", orphans, err)
	}
}

// A batch the database rejects (here a NUL byte, which text columns cannot
// hold) stores nothing and consumes no sequence.
func TestAppendErrorStoresNothing(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		if _, err := s.CreateChannel(ctx, chat.Channel{ID: id, Kind: chat.KindGroup}, "o"); err != nil {
			t.Fatal(err)
		}
	}
	for _, batch := range [][]chat.NewMessage{
		{textMsg("a", "u", "ok1"), textMsg("a", "u", "bad\x00")},
		{textMsg("a", "u", "ok1"), textMsg("b", "u", "ok2"), textMsg("b", "u\x00", "bad")},
	} {
		if res, err := s.Append(ctx, batch); err == nil {
			t.Fatalf("Append with a NUL byte = %+v, want an error", res)
		}
	}
	for _, id := range []string{"a", "b"} {
		checkGapFree(t, s, id, 0)
	}
	res, err := s.Append(ctx, []chat.NewMessage{textMsg("a", "u", "ok1")})
	if err != nil || res[0].Err != nil || res[0].Duplicate || res[0].Message.Seq != 1 {
		t.Fatalf("Append after the failed batches = %+v, %v; want a new #1", res, err)
	}
}

// Close, then Open the same schema again (a restart): everything written
// before is read back, and sequences continue.
func TestRestartDurability(t *testing.T) {
	schema := testSchema(t)
	ctx := t.Context()
	s, err := Open(ctx, testURL(t), Options{Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateChannel(ctx, chat.Channel{ID: "g", Kind: chat.KindGroup, Name: "G", MemberCap: 5}, "o"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutMember(ctx, "g", "u", chat.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	in := textMsg("g", "u", "m1")
	in.Attachments = []chat.Attachment{{URL: "https://x/a", Mime: "image/png", Size: 9, Name: "a"}}
	res, err := s.Append(ctx, []chat.NewMessage{in, textMsg("g", "u", "m2")})
	if err != nil {
		t.Fatal(err)
	}
	before := res[0].Message
	if _, err := s.React(ctx, "g", 1, "o", "👍", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MoveRead(ctx, "g", "u", 2); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openSchema(t, schema, 2)
	got, err := s.Message(ctx, "g", 1)
	if err != nil {
		t.Fatal(err)
	}
	before.Reactions = map[string]int{"👍": 1}
	if got.Seq != 1 || string(got.Body) != "m1" || !slices.Equal(got.Attachments, before.Attachments) ||
		!got.CreatedAt.Equal(before.CreatedAt) || got.Reactions["👍"] != 1 {
		t.Errorf("after restart: %+v\nwant %+v", got, before)
	}
	if m, err := s.Member(ctx, "g", "u"); err != nil || m.Role != chat.RoleAdmin || m.ReadSeq != 2 {
		t.Errorf("member after restart = %+v, %v", m, err)
	}
	res, err = s.Append(ctx, []chat.NewMessage{textMsg("g", "u", "m2"), textMsg("g", "u", "m3")})
	if err != nil || !res[0].Duplicate || res[0].Message.Seq != 2 || res[1].Message.Seq != 3 {
		t.Errorf("Append after restart = %+v, %v; want a duplicate of #2 and a new #3", res, err)
	}
}

func TestAppendResultOwnsBody(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.CreateChannel(ctx, chat.Channel{ID: "g", Kind: chat.KindGroup}, "o"); err != nil {
		t.Fatal(err)
	}
	buf := []byte("pooled")
	res, err := s.Append(ctx, []chat.NewMessage{{Channel: "g", Sender: "u", ClientID: "1", ContentType: "t", Body: buf}})
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "reused")
	if string(res[0].Message.Body) != "pooled" {
		t.Errorf("result body %q changed with the caller's buffer", res[0].Message.Body)
	}
}
