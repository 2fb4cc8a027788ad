package chat

import (
	"hash/maphash"
	"testing"

	"github.com/salamhq/salam/internal/bus"
)

func TestTracedMessages(t *testing.T) {
	tm := tracedMessages{seed: maphash.MakeSeed()}
	if _, ok := tm.lookup("g", 1); ok {
		t.Fatal("found before any add")
	}
	tc := bus.TraceContext{TraceID: [16]byte{1}, SpanID: [8]byte{2}}
	tm.add("g", 1, tc)
	if got, ok := tm.lookup("g", 1); !ok || got != tc {
		t.Fatalf("lookup = %+v, %v", got, ok)
	}
	for _, k := range []struct {
		ch  string
		seq uint64
	}{{"g", 2}, {"h", 1}} {
		if _, ok := tm.lookup(k.ch, k.seq); ok {
			t.Errorf("found %s #%d, never added", k.ch, k.seq)
		}
	}
}

// A receipt for an untraced message costs no allocation and no lock, even
// after messages were traced.
func TestTracedLookupDoesNotAllocate(t *testing.T) {
	tm := tracedMessages{seed: maphash.MakeSeed()}
	tm.add("g", 1, bus.TraceContext{TraceID: [16]byte{1}})
	if n := testing.AllocsPerRun(1000, func() { tm.lookup("general", 42) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
