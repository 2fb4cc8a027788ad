package edge

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// feed runs arrivals through an order and returns the sequences delivered,
// releasing held events when release is set at an arrival of 0.
func feed(o *order, arrivals ...uint64) []uint64 {
	var out []uint64
	msgs := map[*nats.Msg]uint64{}
	for _, s := range arrivals {
		if s == 0 {
			for _, m := range o.release() {
				out = append(out, msgs[m])
			}
		} else {
			m := &nats.Msg{}
			msgs[m] = s
			if !o.admit(s, m, 0) {
				continue
			}
			out = append(out, s)
		}
		for m := o.next(); m != nil; m = o.next() {
			out = append(out, msgs[m])
		}
	}
	return out
}

func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		arrivals []uint64 // 0: ReorderWait passed
		want     string
	}{
		{"in order", []uint64{1, 2, 3}, "[1 2 3]"},
		{"first seen need not be 1", []uint64{41, 42}, "[41 42]"},
		{"overtaken", []uint64{1, 3, 4, 2, 5}, "[1 2 3 4 5]"},
		{"repeats dropped", []uint64{1, 1, 3, 3, 2, 2, 3}, "[1 2 3]"},
		{"gap given up, then the straggler", []uint64{1, 3, 4, 0, 2, 2, 5}, "[1 3 4 2 5]"},
		{"late below the first seen", []uint64{7, 6, 6, 8}, "[7 6 8]"},
		{"window slides by more than a word", []uint64{1, 100, 0, 50, 50, 99, 101}, "[1 100 50 99 101]"},
		{"beyond the window a straggler still goes out", []uint64{1, 300, 0, 2}, "[1 300 2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(feed(&order{}, tc.arrivals...)); got != tc.want {
				t.Fatalf("delivered %s, want %s", got, tc.want)
			}
		})
	}
}

func TestOrderWindowRemembersAcrossShifts(t *testing.T) {
	o := &order{}
	var arrivals []uint64
	for s := uint64(1); s <= 200; s++ {
		arrivals = append(arrivals, s)
	}
	feed(o, arrivals...)
	for s := uint64(200 - seenWindow + 1); s <= 200; s++ {
		if o.admit(s, &nats.Msg{}, 0) {
			t.Fatalf("seq %d delivered twice (high %d)", s, o.high)
		}
	}
}

func TestOrderHoldsAtMostMaxHeld(t *testing.T) {
	o := &order{}
	o.admit(1, &nats.Msg{}, 0)
	for s := uint64(3); s < 3+maxHeld; s++ {
		o.admit(s, &nats.Msg{}, 0)
	}
	if !o.due(0, int64(time.Hour)) {
		t.Fatal("a full hold is not due at once")
	}
	if n := len(o.release()); n != maxHeld {
		t.Fatalf("released %d, want %d", n, maxHeld)
	}
}

// Events of one channel that two core processes publish out of order reach
// subscribers in sequence order; one that never comes holds the others only
// for reorder_wait.
func TestEdgeDeliversInSequenceOrder(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ReorderWait = 300 * time.Millisecond })
	c := f.client("alice", wsclient.Options{})
	if err := c.Subscribe(ctx(t), "room"); err != nil {
		t.Fatal(err)
	}
	publish := func(seqs ...uint64) {
		for _, s := range seqs {
			ev := wire.Frame{Type: wire.TypeEvent, Channel: "room", Seq: s, From: "bob", Data: []byte("x")}
			f.nc.Publish(bus.EventSubject("room"), wire.Msgpack.Append(nil, &ev))
		}
		f.nc.Flush()
	}
	read := func(n int) ([]uint64, time.Duration) {
		start := time.Now()
		var seqs []uint64
		for len(seqs) < n {
			var fr wire.Frame
			if err := c.Read(&fr); err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, fr.Seq)
		}
		return seqs, time.Since(start)
	}
	publish(1, 3, 4, 2, 5)
	if got, _ := read(5); fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Fatalf("got %v", got)
	}
	publish(7, 8) // 6 never comes
	got, waited := read(2)
	if fmt.Sprint(got) != "[7 8]" || waited < 250*time.Millisecond {
		t.Fatalf("got %v after %v, want [7 8] after about reorder_wait", got, waited)
	}
	publish(6, 9) // the straggler still goes out, once
	if got, _ := read(2); fmt.Sprint(got) != "[6 9]" {
		t.Fatalf("got %v", got)
	}
}
