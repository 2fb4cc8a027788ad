package chattest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/salamhq/salam/core/chat"
)

// historyCases run against a channel holding messages 1..10 (message 5 a
// tombstone, message 3 with reactions) beside a busier channel.
//
// Reading of Around: the page holds ⌈Limit/2⌉ messages with Seq ≤ Around
// (Around itself when it exists) and ⌊Limit/2⌋ with Seq > Around, so an
// even Limit puts the extra message after Around; near either end the page
// is shorter, not shifted.
var historyCases = []struct {
	name string
	q    chat.HistoryQuery // Channel is filled in
	want []uint64
	more bool
}{
	{"Newest", chat.HistoryQuery{Limit: 3}, []uint64{10, 9, 8}, true},
	{"NewestOldestFirst", chat.HistoryQuery{Limit: 3, Oldest: true}, []uint64{8, 9, 10}, true},
	{"NewestAllExactly", chat.HistoryQuery{Limit: 10}, seqRange(10, 1), false},
	{"NewestAllButOne", chat.HistoryQuery{Limit: 9}, seqRange(10, 2), true},
	{"NewestLimit1", chat.HistoryQuery{Limit: 1}, []uint64{10}, true},
	{"NewestMaxLimit", chat.HistoryQuery{Limit: chat.MaxHistoryLimit, Oldest: true}, seqRange(1, 10), false},

	{"Before", chat.HistoryQuery{Before: 6, Limit: 3}, []uint64{5, 4, 3}, true},
	{"BeforeOldestFirst", chat.HistoryQuery{Before: 6, Limit: 3, Oldest: true}, []uint64{3, 4, 5}, true},
	{"BeforeReachingStart", chat.HistoryQuery{Before: 4, Limit: 3}, []uint64{3, 2, 1}, false},
	{"BeforeShortOfStart", chat.HistoryQuery{Before: 5, Limit: 3}, []uint64{4, 3, 2}, true},
	{"BeforeFirst", chat.HistoryQuery{Before: 1, Limit: 3}, nil, false},
	{"BeforeBeyondEnd", chat.HistoryQuery{Before: 1000, Limit: 2}, []uint64{10, 9}, true},
	{"BeforeEnd", chat.HistoryQuery{Before: 11, Limit: 10}, seqRange(10, 1), false},

	{"After", chat.HistoryQuery{After: 5, Limit: 3, Oldest: true}, []uint64{6, 7, 8}, true},
	{"AfterNewestFirst", chat.HistoryQuery{After: 5, Limit: 3}, []uint64{8, 7, 6}, true},
	{"AfterReachingEnd", chat.HistoryQuery{After: 7, Limit: 3, Oldest: true}, []uint64{8, 9, 10}, false},
	{"AfterShortOfEnd", chat.HistoryQuery{After: 6, Limit: 3, Oldest: true}, []uint64{7, 8, 9}, true},
	{"AfterLast", chat.HistoryQuery{After: 10, Limit: 3}, nil, false},
	{"AfterBeyondEnd", chat.HistoryQuery{After: 1000, Limit: 3}, nil, false},
	{"AfterLimit1", chat.HistoryQuery{After: 9, Limit: 1}, []uint64{10}, false},

	{"AroundOdd", chat.HistoryQuery{Around: 5, Limit: 3}, []uint64{6, 5, 4}, true},
	{"AroundOddOldestFirst", chat.HistoryQuery{Around: 5, Limit: 5, Oldest: true}, []uint64{3, 4, 5, 6, 7}, true},
	{"AroundEven", chat.HistoryQuery{Around: 5, Limit: 4, Oldest: true}, []uint64{4, 5, 6, 7}, true},
	{"AroundLimit1", chat.HistoryQuery{Around: 5, Limit: 1}, []uint64{5}, true},
	{"AroundLimit2", chat.HistoryQuery{Around: 5, Limit: 2, Oldest: true}, []uint64{5, 6}, true},
	{"AroundFirst", chat.HistoryQuery{Around: 1, Limit: 5, Oldest: true}, []uint64{1, 2, 3}, true},
	{"AroundFirstLimit1", chat.HistoryQuery{Around: 1, Limit: 1}, []uint64{1}, true},
	{"AroundLast", chat.HistoryQuery{Around: 10, Limit: 5, Oldest: true}, []uint64{8, 9, 10}, true},
	{"AroundLastEven", chat.HistoryQuery{Around: 10, Limit: 4, Oldest: true}, []uint64{9, 10}, true},
	{"AroundBeyondEnd", chat.HistoryQuery{Around: 50, Limit: 4, Oldest: true}, []uint64{9, 10}, true},
	{"AroundWhole", chat.HistoryQuery{Around: 5, Limit: 10, Oldest: true}, seqRange(1, 10), false},
	{"AroundWholeEven", chat.HistoryQuery{Around: 6, Limit: 10, Oldest: true}, seqRange(2, 10), true},
	{"AroundAllButLast", chat.HistoryQuery{Around: 5, Limit: 9, Oldest: true}, seqRange(1, 9), true},
	{"AroundAllButFirst", chat.HistoryQuery{Around: 6, Limit: 9, Oldest: true}, seqRange(2, 10), true},
	{"AroundMoreThanAll", chat.HistoryQuery{Around: 4, Limit: 40}, seqRange(10, 1), false},
}

func runHistory(t *testing.T, open Opener) {
	f := setup(t, open)
	f.group("g", 0)
	f.group("busy", 0)
	f.group("empty", 0)
	f.post("busy", owner, 4)
	var stored []chat.Message
	for range 10 { // one batch per message, interleaved with another channel
		stored = append(stored, f.post("g", owner, 1)...)
		f.post("busy", owner, 2)
	}
	if _, err := f.s.React(f.ctx, "g", 3, "u1", "🎉", true); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Pin(f.ctx, "g", 3, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Delete(f.ctx, "g", 5); err != nil {
		t.Fatal(err)
	}
	stored[2].Reactions, stored[2].Pinned = map[string]int{"🎉": 1}, true
	stored[4].Body, stored[4].Deleted = nil, true

	for _, tc := range historyCases {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Channel = "g"
			got, more, err := f.s.History(f.ctx, q)
			if err != nil {
				t.Fatalf("History(%+v): %v", q, err)
			}
			if !slices.Equal(seqsOf(got), tc.want) || more != tc.more {
				t.Fatalf("History(%s) = %v, more %v; want %v, more %v", describe(q), seqsOf(got), more, tc.want, tc.more)
			}
			for _, m := range got {
				checkMessage(t, "History", m, stored[m.Seq-1])
			}
		})
	}

	t.Run("Tombstone", func(t *testing.T) {
		got, _, err := f.s.History(f.ctx, chat.HistoryQuery{Channel: "g", Around: 5, Limit: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("History = %v, %v", got, err)
		}
		if m := got[0]; !m.Deleted || m.Body != nil || len(m.Attachments) != 0 || m.Reactions != nil {
			t.Errorf("tombstone in History: %+v", m)
		}
	})

	t.Run("NoReactionsIsNil", func(t *testing.T) {
		got, _, err := f.s.History(f.ctx, chat.HistoryQuery{Channel: "g", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got {
			if m.Seq != 3 && m.Reactions != nil {
				t.Errorf("message #%d: Reactions %v, want nil", m.Seq, m.Reactions)
			}
		}
	})

	t.Run("EmptyChannel", func(t *testing.T) {
		for _, q := range []chat.HistoryQuery{
			{Limit: 10}, {Limit: 10, Oldest: true}, {Before: 5, Limit: 10}, {After: 0, Limit: 1}, {After: 3, Limit: 10}, {Around: 1, Limit: 3},
		} {
			q.Channel = "empty"
			got, more, err := f.s.History(f.ctx, q)
			if err != nil || len(got) != 0 || more {
				t.Errorf("History(%s) = %v, more %v, %v; want nothing", describe(q), seqsOf(got), more, err)
			}
		}
	})

	t.Run("OtherChannel", func(t *testing.T) {
		got, more, err := f.s.History(f.ctx, chat.HistoryQuery{Channel: "busy", Limit: chat.MaxHistoryLimit, Oldest: true})
		if err != nil || !slices.Equal(seqsOf(got), seqRange(1, 24)) || more {
			t.Errorf("History(busy) = %v, more %v, %v; want 1..24", seqsOf(got), more, err)
		}
	})
}

func describe(q chat.HistoryQuery) string {
	s := fmt.Sprintf("limit %d", q.Limit)
	switch {
	case q.Before != 0:
		s += fmt.Sprintf(", before %d", q.Before)
	case q.After != 0:
		s += fmt.Sprintf(", after %d", q.After)
	case q.Around != 0:
		s += fmt.Sprintf(", around %d", q.Around)
	}
	if q.Oldest {
		s += ", oldest first"
	}
	return s
}
