package bus

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestRequestRoundTrip(t *testing.T) {
	for _, r := range []Request{
		{},
		{User: "alice", Session: "s1", Received: 1767225600000000000, Frame: []byte{0x81, 0xa1, 't', 5}},
		{User: "ü-ser", Frame: bytes.Repeat([]byte{7}, 70000)},
		{Received: -1},
		{User: "bob", Session: "s2", Frame: []byte{1}, Home: "node7"},
	} {
		b := r.AppendMsgpack(nil)
		var got Request
		if err := got.DecodeMsgpack(b); err != nil {
			t.Fatal(err)
		}
		if got.User != r.User || got.Session != r.Session || got.Received != r.Received || !bytes.Equal(got.Frame, r.Frame) || got.Home != r.Home {
			t.Fatalf("round trip %+v → %+v", r, got)
		}
		// The msgpack library reads the same map (independent check of the encoding).
		var m map[string]any
		if err := msgpack.Unmarshal(b, &m); err != nil {
			t.Fatalf("msgpack library: %v", err)
		}
	}
}

func TestRequestDecodeIsForwardCompatibleAndBounded(t *testing.T) {
	withUnknown, _ := msgpack.Marshal(map[string]any{"u": "bob", "zz": []any{1, map[string]any{"x": "y"}}})
	var r Request
	if err := r.DecodeMsgpack(withUnknown); err != nil || r.User != "bob" {
		t.Fatalf("unknown key: %+v %v", r, err)
	}
	for name, in := range map[string][]byte{
		"truncated":       {0x81, 0xa1},
		"bin over input":  {0x81, 0xa2, 'f', 'r', 0xc6, 0xff, 0xff, 0xff, 0xff},
		"trailing bytes":  {0x80, 0x00},
		"not a map":       {0x92, 1, 2},
		"wrong user type": {0x81, 0xa1, 'u', 0x05},
	} {
		if err := r.DecodeMsgpack(in); err == nil {
			t.Errorf("%s: decoded", name)
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v is neither ErrMalformed nor ErrTooLarge", name, err)
		}
	}
}

// TestRequestHomeSkippedByOldDecoders: a decoder that predates "hm"
// (modelled by the msgpack library into a struct without it) reads the rest.
func TestRequestHomeSkippedByOldDecoders(t *testing.T) {
	b := (&Request{User: "bob", Session: "s", Home: "home1"}).AppendMsgpack(nil)
	var old struct {
		User    string `msgpack:"u"`
		Session string `msgpack:"sid"`
	}
	if err := msgpack.Unmarshal(b, &old); err != nil || old.User != "bob" || old.Session != "s" {
		t.Fatalf("old decoder: %+v %v", old, err)
	}
}

func TestRequestTraceRoundTrip(t *testing.T) {
	tc := TraceContext{TraceID: [16]byte{1, 2, 3}, SpanID: [8]byte{4, 5}, Sent: 1_700_000_000_000_000_000}
	for _, r := range []Request{
		{User: "alice", Frame: []byte{1}},
		{User: "alice", Frame: []byte{1}, Trace: tc},
	} {
		var got Request
		if err := got.DecodeMsgpack(r.AppendMsgpack(nil)); err != nil {
			t.Fatal(err)
		}
		if got.Trace != r.Trace || got.User != r.User {
			t.Errorf("got %+v, want %+v", got, r)
		}
	}
	// A decoder that predates "tc" skips it: simulated by the generic skip.
	var rd reader
	rd.b = (&Request{User: "a", Trace: tc}).AppendMsgpack(nil)
	if err := rd.skip(); err != nil || rd.left() != 0 {
		t.Fatalf("skip: %v, %d left", err, rd.left())
	}
	// A wrong-sized trace context is malformed, not a panic.
	bad := append((&Request{User: "a"}).AppendMsgpack(nil)[:0], 0x82, 0xa1, 'u', 0xa1, 'a', 0xa2, 't', 'c', 0xc4, 1, 9)
	if err := new(Request).DecodeMsgpack(bad); err == nil {
		t.Fatal("short trace context decoded")
	}
	h := tc.Header()
	if back, ok := TraceFromHeader(h); !ok || back != tc {
		t.Fatalf("header round trip: %+v %v", back, ok)
	}
	if _, ok := TraceFromHeader(nil); ok {
		t.Fatal("nil header traced")
	}
}

func TestRequestAppendDoesNotAllocate(t *testing.T) {
	r := Request{User: "alice", Session: "s", Received: 1, Frame: make([]byte, 100)}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = r.AppendMsgpack(buf[:0]) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add((&Request{User: "alice", Session: "s", Received: 5, Frame: []byte{1, 2}}).AppendMsgpack(nil))
	f.Add([]byte{0x80})
	traced := Request{User: "alice", Received: 5, Frame: []byte{1}, Trace: TraceContext{TraceID: [16]byte{1}, SpanID: [8]byte{2}, Sent: 7}}
	f.Add(traced.AppendMsgpack(nil))
	f.Add((&Request{User: "alice", Frame: []byte{1}, Home: "node1"}).AppendMsgpack(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		if r.DecodeMsgpack(data) != nil {
			return
		}
		var again Request
		if err := again.DecodeMsgpack(r.AppendMsgpack(nil)); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if again.User != r.User || again.Session != r.Session || again.Home != r.Home {
			t.Fatalf("re-decode changed %+v into %+v", r, again)
		}
	})
}
