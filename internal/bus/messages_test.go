package bus

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/salamhq/salam/wire"
)

func str(n int) string { return strings.Repeat("x", n) }

func data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// Examples shared by the round-trip tests, the fuzz seeds and benchmarks.
var (
	publishExamples = []Publish{
		{},
		{Channel: "room1", From: "alice", MsgID: "c-1", Session: "s-9", Data: []byte("hi"), Received: 1_700_000_000_123_456_789},
		{Channel: "room1", Received: -1},
		{Channel: str(128), From: str(maxStrLen), MsgID: str(32), Session: str(31), Data: data(255)},
		{Channel: "c", From: str(256), Data: data(256)},
		{Channel: "c", Data: data(65535)},
		{Channel: "c", Data: data(65536)},
		{Received: math.MinInt64},
		{Received: math.MaxInt64},
	}
	replyExamples = []PublishReply{
		{},
		{Seq: 1, Time: 1_700_000_000_123},
		{Code: wire.CodeBadChannel, Reason: "bad channel"},
		{Seq: math.MaxUint64, Time: math.MinInt64, Code: math.MaxUint16, Reason: str(maxStrLen)},
		{Seq: 128, Time: -33},
	}
	eventExamples = []Event{
		{},
		{Channel: "room1", Seq: 42, From: "alice", MsgID: "c-1", Time: 1_700_000_000_123, Data: []byte(`{"text":"hello"}`)},
		{Channel: "room1", Seq: 1},
		{Seq: 127, Time: -32}, {Seq: 255, Time: -33}, {Seq: 256, Time: -128}, {Seq: 65535, Time: -129},
		{Seq: 65536, Time: -32768}, {Seq: math.MaxUint32, Time: -32769}, {Seq: math.MaxUint32 + 1, Time: math.MinInt32},
		{Seq: math.MaxUint64, Time: math.MinInt32 - 1},
		{Channel: str(wire.MaxChannelLen), From: str(maxStrLen), MsgID: str(200), Data: data(70000)},
	}
)

// equalData compares a and b field by field, treating nil and empty Data as
// equal (zero fields are omitted on the wire).
func equalData(a, b any, da, db []byte) bool {
	return reflect.DeepEqual(a, b) && bytes.Equal(da, db)
}

func TestPublishRoundTrip(t *testing.T) {
	for i, want := range publishExamples {
		enc := want.AppendMsgpack(nil)
		var got Publish
		if err := got.DecodeMsgpack(enc); err != nil {
			t.Fatalf("%d: decode: %v", i, err)
		}
		w, g := want, got
		w.Data, g.Data = nil, nil
		if !equalData(w, g, want.Data, got.Data) {
			t.Errorf("%d: round trip\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestPublishReplyRoundTrip(t *testing.T) {
	for i, want := range replyExamples {
		var got PublishReply
		if err := got.DecodeMsgpack(want.AppendMsgpack(nil)); err != nil {
			t.Fatalf("%d: decode: %v", i, err)
		}
		if got != want {
			t.Errorf("%d: round trip\n got %+v\nwant %+v", i, got, want)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	for i, want := range eventExamples {
		var got Event
		if err := got.DecodeMsgpack(want.AppendMsgpack(nil)); err != nil {
			t.Fatalf("%d: decode: %v", i, err)
		}
		w, g := want, got
		w.Data, g.Data = nil, nil
		if !equalData(w, g, want.Data, got.Data) {
			t.Errorf("%d: round trip\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// The exact bytes of a typical message: keys, their order and the shortest
// forms are part of the contract between processes of different versions.
func TestEncodingExact(t *testing.T) {
	r := PublishReply{Seq: 300, Time: 5, Code: wire.CodeBadFrame}
	want := []byte{0x83, 0xa1, 's', 0xcd, 0x01, 0x2c, 0xa2, 't', 's', 0x05, 0xa1, 'e', 0x02}
	if got := r.AppendMsgpack(nil); !bytes.Equal(got, want) {
		t.Errorf("reply encoding\n got % x\nwant % x", got, want)
	}
	if got := (&Event{}).AppendMsgpack(nil); !bytes.Equal(got, []byte{0x80}) {
		t.Errorf("zero event encoding % x, want 80", got)
	}
	p := Publish{Channel: "r", Session: "s", Data: []byte{7}, Received: -1}
	want = []byte{0x84, 0xa1, 'c', 0xa1, 'r', 0xa3, 's', 'i', 'd', 0xa1, 's', 0xa1, 'd', 0xc4, 1, 7, 0xa2, 'r', 't', 0xff}
	if got := p.AppendMsgpack(nil); !bytes.Equal(got, want) {
		t.Errorf("publish encoding\n got % x\nwant % x", got, want)
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	prefix := []byte("prefix")
	ev := eventExamples[1]
	got := ev.AppendMsgpack(append([]byte(nil), prefix...))
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], ev.AppendMsgpack(nil)) {
		t.Fatalf("AppendMsgpack did not append: % x", got)
	}
}

func TestDecodedDataDoesNotAlias(t *testing.T) {
	in := eventExamples[1]
	buf := in.AppendMsgpack(nil)
	var ev Event
	if err := ev.DecodeMsgpack(buf); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 0xff
	}
	if !bytes.Equal(ev.Data, in.Data) || ev.Channel != in.Channel || ev.From != in.From {
		t.Fatalf("decoded event changed with its input: %+v", ev)
	}

	var p Publish
	pbuf := publishExamples[1].AppendMsgpack(nil)
	if err := p.DecodeMsgpack(pbuf); err != nil {
		t.Fatal(err)
	}
	clear(pbuf)
	if !bytes.Equal(p.Data, publishExamples[1].Data) {
		t.Fatalf("decoded publish data changed with its input: %q", p.Data)
	}
}

func TestDecodeReusesDataAndResets(t *testing.T) {
	ev := Event{Data: make([]byte, 0, 1024)}
	first := &ev.Data[:1][0]
	if err := ev.DecodeMsgpack(eventExamples[1].AppendMsgpack(nil)); err != nil {
		t.Fatal(err)
	}
	if &ev.Data[0] != first {
		t.Error("Data did not reuse the receiver's capacity")
	}
	// A second decode of a message without some fields must zero them.
	if err := ev.DecodeMsgpack((&Event{Seq: 9}).AppendMsgpack(nil)); err != nil {
		t.Fatal(err)
	}
	if ev.Channel != "" || ev.From != "" || ev.MsgID != "" || ev.Time != 0 || len(ev.Data) != 0 || ev.Seq != 9 {
		t.Errorf("fields survived a second decode: %+v", ev)
	}
}

func TestAppendAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	pub, rep, ev := publishExamples[1], replyExamples[2], eventExamples[1]
	for name, f := range map[string]func(){
		"publish": func() { buf = pub.AppendMsgpack(buf[:0]) },
		"reply":   func() { buf = rep.AppendMsgpack(buf[:0]) },
		"event":   func() { buf = ev.AppendMsgpack(buf[:0]) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: AppendMsgpack allocates %v times, want 0", name, n)
		}
	}
}

// A decoder reused for every message allocates only its strings.
func TestDecodeAllocs(t *testing.T) {
	enc := eventExamples[1].AppendMsgpack(nil)
	var ev Event
	n := testing.AllocsPerRun(100, func() {
		if err := ev.DecodeMsgpack(enc); err != nil {
			t.Fatal(err)
		}
	})
	if n > 3 { // Channel, From, MsgID
		t.Errorf("Event.DecodeMsgpack allocates %v times, want <= 3", n)
	}
	var r PublishReply
	enc = replyExamples[1].AppendMsgpack(nil)
	if n := testing.AllocsPerRun(100, func() { _ = r.DecodeMsgpack(enc) }); n != 0 {
		t.Errorf("PublishReply.DecodeMsgpack (ok) allocates %v times, want 0", n)
	}
}

func TestDecodeErrors(t *testing.T) {
	long := append([]byte{0x81, 0xa1, 'c', 0xda, 0x04, 0x01}, str(maxStrLen+1)...)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"array not map", []byte{0x90}, ErrMalformed},
		{"nil not map", []byte{0xc0}, ErrMalformed},
		{"truncated map", []byte{0x82, 0xa1, 's', 0x01}, ErrMalformed},
		{"map32 huge count", []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 's', 0x01}, ErrMalformed},
		{"integer key", []byte{0x81, 0x01, 0x01}, ErrMalformed},
		{"string seq", []byte{0x81, 0xa1, 's', 0xa1, '1'}, ErrMalformed},
		{"negative seq", []byte{0x81, 0xa1, 's', 0xff}, ErrMalformed},
		{"negative int64 seq", []byte{0x81, 0xa1, 's', 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, ErrMalformed},
		{"float seq", []byte{0x81, 0xa1, 's', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, ErrMalformed},
		{"time overflows int64", []byte{0x81, 0xa2, 't', 's', 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}, ErrMalformed},
		{"truncated uint64", []byte{0x81, 0xa1, 's', 0xcf, 0, 0}, ErrMalformed},
		{"integer channel", []byte{0x81, 0xa1, 'c', 0x01}, ErrMalformed},
		{"bin channel", []byte{0x81, 0xa1, 'c', 0xc4, 0x01, 'a'}, ErrMalformed},
		{"channel too long", long, ErrTooLarge},
		{"str32 claims 4 GiB", []byte{0x81, 0xa1, 'c', 0xdb, 0xff, 0xff, 0xff, 0xff}, ErrTooLarge},
		{"bin claims more than input", []byte{0x81, 0xa1, 'd', 0xc6, 0x00, 0x01, 0x00, 0x00, 1, 2}, ErrMalformed},
		{"data integer", []byte{0x81, 0xa1, 'd', 0x07}, ErrMalformed},
		{"trailing bytes", []byte{0x80, 0x00}, ErrMalformed},
		{"unknown key, invalid byte", []byte{0x81, 0xa1, 'z', 0xc1}, ErrMalformed},
		{"unknown key, array32 huge", []byte{0x81, 0xa1, 'z', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformed},
		{"unknown key, map16 truncated", []byte{0x81, 0xa1, 'z', 0xde, 0x00, 0x02, 0x01, 0x01, 0x01}, ErrMalformed},
		{"unknown key, ext32 truncated", []byte{0x81, 0xa1, 'z', 0xc9, 0x00, 0x00, 0x00, 0x05, 0x01, 0x01}, ErrMalformed},
		{"unknown key, str8 truncated", []byte{0x81, 0xa1, 'z', 0xd9, 0x05, 'a'}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			if err := ev.DecodeMsgpack(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("Event: err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeReplyErrors(t *testing.T) {
	var r PublishReply
	if err := r.DecodeMsgpack([]byte{0x81, 0xa1, 'e', 0xce, 0x00, 0x01, 0x00, 0x00}); !errors.Is(err, ErrMalformed) {
		t.Errorf("code 65536: err = %v, want ErrMalformed", err)
	}
	var p Publish
	if err := p.DecodeMsgpack([]byte{0x81, 0xa3, 's', 'i', 'd', 0x01}); !errors.Is(err, ErrMalformed) {
		t.Errorf("integer session: err = %v, want ErrMalformed", err)
	}
}

// Forward compatibility: unknown keys of every msgpack type are skipped,
// nil means zero, and integers of any width decode.
func TestDecodeSkipsUnknownAndAcceptsAnyWidth(t *testing.T) {
	in := []byte{0x8b,
		0xa2, 'z', '1', 0x92, 0x81, 0xa1, 'k', 0x93, 0xc3, 0xc2, 0xca, 0, 0, 0, 0, 0xd4, 1, 2, // array of map of array, bool, float32, fixext1
		0xa1, 'c', 0xd9, 0x02, 'r', '1', // str8
		0xa1, 's', 0xd3, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // int64 256
		0xa2, 'z', '2', 0xc7, 0x02, 0x05, 0xaa, 0xbb, // ext8
		0xa2, 't', 's', 0xd0, 0xf0, // int8 -16
		0xa1, 'f', 0xc0, // nil
		0xa1, 'd', 0xa3, 'a', 'b', 'c', // str as data
		0xa2, 'z', '3', 0xdc, 0x00, 0x01, 0xd8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // array16 of fixext16
		0xa2, 'z', '4', 0xde, 0x00, 0x01, 0x01, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, // map16 {1: float64}
		0xa2, 'z', '5', 0xc5, 0x00, 0x01, 0x00, // bin16
		0xa1, 'm', 0xda, 0x00, 0x01, 'x', // str16
	}
	var ev Event
	if err := ev.DecodeMsgpack(in); err != nil {
		t.Fatal(err)
	}
	want := Event{Channel: "r1", Seq: 256, Time: -16, MsgID: "x", Data: []byte("abc")}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("got %+v, want %+v", ev, want)
	}
}

func TestIntegerForms(t *testing.T) {
	ints := []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64}
	for _, v := range ints {
		r := reader{b: appendInt(nil, v)}
		got, err := r.int()
		if err != nil || got != v || r.left() != 0 {
			t.Errorf("int %d: got %d, %v, %d left", v, got, err, r.left())
		}
		if v < 0 {
			continue
		}
		r = reader{b: appendUint(nil, uint64(v))}
		if got, err := r.uint(); err != nil || got != uint64(v) {
			t.Errorf("uint %d: got %d, %v", v, got, err)
		}
	}
	r := reader{b: appendUint(nil, math.MaxUint64)}
	if got, err := r.uint(); err != nil || got != math.MaxUint64 {
		t.Errorf("uint max: got %d, %v", got, err)
	}
}
