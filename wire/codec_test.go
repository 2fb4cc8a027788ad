package wire

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

func TestCodecFor(t *testing.T) {
	for _, tc := range []struct {
		sub    string
		want   Codec
		binary bool
	}{
		{SubprotocolMsgpack, Msgpack, true},
		{SubprotocolJSON, JSON, false},
		{"salam.v2", nil, false},
		{"", nil, false},
	} {
		c, ok := CodecFor(tc.sub)
		if c != tc.want || ok != (tc.want != nil) {
			t.Errorf("CodecFor(%q) = %v, %v", tc.sub, c, ok)
		}
		if ok && (c.Subprotocol() != tc.sub || c.Binary() != tc.binary) {
			t.Errorf("%q: Subprotocol %q, Binary %v", tc.sub, c.Subprotocol(), c.Binary())
		}
	}
}

// The codec's constants must be the msgpack library's codes.
func TestMsgpackCodes(t *testing.T) {
	for _, tc := range []struct {
		ours byte
		lib  byte
	}{
		{mpPosFixMax, msgpcode.PosFixedNumHigh}, {mpNegFixMin, msgpcode.NegFixedNumLow},
		{mpFixMap, msgpcode.FixedMapLow}, {mpFixArray, msgpcode.FixedArrayLow}, {mpFixStr, msgpcode.FixedStrLow},
		{mpFixStrMask, msgpcode.FixedStrMask}, {mpFixMask, msgpcode.FixedMapMask},
		{mpNil, msgpcode.Nil}, {mpFalse, msgpcode.False}, {mpTrue, msgpcode.True},
		{mpBin8, msgpcode.Bin8}, {mpBin16, msgpcode.Bin16}, {mpBin32, msgpcode.Bin32},
		{mpExt8, msgpcode.Ext8}, {mpExt16, msgpcode.Ext16}, {mpExt32, msgpcode.Ext32},
		{mpFloat32, msgpcode.Float}, {mpFloat64, msgpcode.Double},
		{mpUint8, msgpcode.Uint8}, {mpUint16, msgpcode.Uint16}, {mpUint32, msgpcode.Uint32}, {mpUint64, msgpcode.Uint64},
		{mpInt8, msgpcode.Int8}, {mpInt16, msgpcode.Int16}, {mpInt32, msgpcode.Int32}, {mpInt64, msgpcode.Int64},
		{mpFixExt1, msgpcode.FixExt1}, {mpFixExt2, msgpcode.FixExt2}, {mpFixExt4, msgpcode.FixExt4},
		{mpFixExt8, msgpcode.FixExt8}, {mpFixExt16, msgpcode.FixExt16},
		{mpStr8, msgpcode.Str8}, {mpStr16, msgpcode.Str16}, {mpStr32, msgpcode.Str32},
		{mpArray16, msgpcode.Array16}, {mpArray32, msgpcode.Array32}, {mpMap16, msgpcode.Map16}, {mpMap32, msgpcode.Map32},
	} {
		if tc.ours != tc.lib {
			t.Errorf("code 0x%02x, library says 0x%02x", tc.ours, tc.lib)
		}
	}
}

var codecs = []Codec{Msgpack, JSON}

// Append must not allocate when dst is large enough: it runs once per
// outbound frame.
func TestAppendZeroAllocs(t *testing.T) {
	frames := []Frame{{Type: TypePublish, Reason: "bad \xff utf-8"}, benchFrames["messages"],
		{Type: TypeMessages, Messages: []Message{{Data: []byte{0xff}, Attachments: []Attachment{{Name: "\xff"}}}}}}
	for _, f := range goldenFrames {
		frames = append(frames, f)
	}
	for _, c := range codecs {
		dst := make([]byte, 0, 4096)
		for i := range frames {
			f := &frames[i]
			if n := testing.AllocsPerRun(100, func() { dst = c.Append(dst[:0], f) }); n != 0 {
				t.Errorf("%s: Append(%s) allocates %v times", c.Subprotocol(), f.Type, n)
			}
		}
	}
}

// Integer, string and bin lengths at every size-class boundary are written
// in the smallest form (checked by the msgpack library) and round-trip.
func TestAppendBoundaries(t *testing.T) {
	var frames []Frame
	for _, n := range []uint64{1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 1 << 32, math.MaxUint64} {
		frames = append(frames, Frame{Type: TypeEvent, Seq: n, ID: uint32(min(n, math.MaxUint32))})
	}
	for _, n := range []int64{-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1,
		math.MinInt64, math.MaxInt64} {
		frames = append(frames, Frame{Type: TypePong, Time: n})
	}
	for _, n := range []int{31, 32, 255, 256, 65535, 65536} {
		frames = append(frames, Frame{Type: TypeError, Reason: strings.Repeat("r", n)},
			Frame{Type: TypePublish, Data: bytes.Repeat([]byte{0xff}, n)})
	}
	frames = append(frames, Frame{Type: 255, Code: math.MaxUint16, After: math.MaxUint32,
		Limits: Limits{math.MaxUint32, 1, 0x80, 0x100, 0x10000}})
	// Arrays at the fixarray/array16 boundary and at the decoders' bounds;
	// maps at the fixmap/map16 boundary; every chat field at its extremes.
	for _, n := range []int{1, 15, 16, MaxReactions} {
		frames = append(frames, Frame{Type: TypeEvent, Reactions: make([]Reaction, n)})
	}
	for _, n := range []int{15, 16, MaxAttachments} {
		at := make([]Attachment, n)
		for i := range at {
			at[i] = Attachment{URL: strings.Repeat("u", i*9), Size: int64(i) - 16, Name: "n"}
		}
		frames = append(frames, Frame{Type: TypePublish, Attachments: at})
	}
	for _, n := range []int{1, 15, 16, MaxMessages} {
		frames = append(frames, Frame{Type: TypeMessages, Messages: benchPage(n)})
	}
	frames = append(frames, Frame{Type: TypeMessages, Messages: []Message{{}, {Deleted: true}, {Pinned: true},
		{Seq: math.MaxUint64, ReplyTo: math.MaxUint64, Time: math.MinInt64, Edited: math.MaxInt64,
			Data: bytes.Repeat([]byte{0xfe}, 300), Reactions: []Reaction{{Count: math.MaxUint32}},
			Attachments: []Attachment{{Size: math.MinInt64}, {Size: math.MaxInt64}}}}})
	for _, n := range []int{1, 15, 16, MaxUsers} {
		f := Frame{Type: TypePresence, Users: make([]string, n), Presences: make([]Presence, n)}
		for i := range f.Users {
			f.Users[i] = strings.Repeat("u", i%40)
			f.Presences[i] = Presence{User: f.Users[i], Kind: uint8(i), LastSeen: int64(i) - 40, Status: f.Users[i], Invisible: i%2 == 1}
		}
		frames = append(frames, f)
	}
	frames = append(frames, Frame{Type: TypePresence, Presences: []Presence{{Kind: math.MaxUint8, LastSeen: math.MinInt64},
		{LastSeen: math.MaxInt64}}})
	all := goldenFrames["all-keys-map16"]
	all.Data, all.Kind, all.Limit = []byte{0xff}, math.MaxUint8, math.MaxUint16
	frames = append(frames, all, Frame{Type: TypeHistory, Before: 1 << 32, Since: math.MaxUint64, Around: 0x80,
		Limit: 0x100, Oldest: true, Stop: true, More: true, Kind: 0x80})
	for _, f := range frames {
		mp := Msgpack.Append(nil, &f)
		js := JSON.Append(nil, &f)
		checkIndependent(t, string(js), mp)
		checkCanonical(t, string(js), mp)
	}
}

func TestDecodeCopiesAndReuses(t *testing.T) {
	want := goldenFrames["event"]
	for _, c := range codecs {
		in := c.Append(nil, &want)
		f := Frame{Type: TypeConnected, ID: 99, User: "stale", Limits: Limits{MaxFrame: 1}, Data: make([]byte, 0, 256)}
		backing := &f.Data[:1][0]
		if err := c.Decode(in, &f); err != nil {
			t.Fatalf("%s: %v", c.Subprotocol(), err)
		}
		if &f.Data[0] != backing {
			t.Errorf("%s: Decode did not reuse the capacity of Data", c.Subprotocol())
		}
		for i := range in {
			in[i] = 'X' // f must not alias the input
		}
		if !framesEqual(f, want) {
			t.Errorf("%s: got %+v, want %+v (stale fields or aliasing)", c.Subprotocol(), f, want)
		}
	}
}

// Nested strings and bodies must not alias the input either, and bodies
// copied into a page's shared chunk must not overlap.
func TestDecodeNestedCopies(t *testing.T) {
	want := Frame{Type: TypeMessages, Messages: benchPage(40)}
	want.Messages[3].Data = bytes.Repeat([]byte("x"), 5000) // over pageBodyMax: its own allocation
	for _, c := range codecs {
		in := c.Append(nil, &want)
		var f Frame
		if err := c.Decode(in, &f); err != nil {
			t.Fatalf("%s: %v", c.Subprotocol(), err)
		}
		for i := range in {
			in[i] = 'X'
		}
		if !framesEqual(f, want) {
			t.Fatalf("%s: nested values alias the input", c.Subprotocol())
		}
		for i := range f.Messages {
			if d := f.Messages[i].Data; cap(d) != len(d) && c == Msgpack {
				t.Errorf("%s: message %d: cap %d > len %d: an append would overwrite the next body",
					c.Subprotocol(), i, cap(d), len(d))
			}
			f.Messages[i].Data = append(f.Messages[i].Data, '!')
		}
		for i := range f.Messages {
			if d, w := f.Messages[i].Data, want.Messages[i].Data; !bytes.Equal(d[:len(d)-1], w) {
				t.Fatalf("%s: message %d: body changed by an append to another", c.Subprotocol(), i)
			}
		}
	}
}

// Empty and null arrays decode as nil, as absent ones do, and arrays at
// their bound decode.
func TestDecodeArrays(t *testing.T) {
	for _, in := range []string{`{"t":15,"ms":[],"at":[],"rx":null}`, `{"t":15,"ms":null,"at":null,"rx":[]}`} {
		var f Frame
		if err := JSON.Decode([]byte(in), &f); err != nil || f.Messages != nil || f.Attachments != nil || f.Reactions != nil {
			t.Errorf("%s: %+v, %v", in, f, err)
		}
	}
	var f Frame
	if err := Msgpack.Decode([]byte("\x84\xa1t\x0f\xa2ms\x90\xa2at\xc0\xa2rx\x90"), &f); err != nil ||
		f.Messages != nil || f.Attachments != nil || f.Reactions != nil {
		t.Errorf("msgpack: %+v, %v", f, err)
	}
	for _, in := range []string{`{"t":16,"us":[],"ps":null}`, `{"t":16,"us":null,"ps":[]}`} {
		var f Frame
		if err := JSON.Decode([]byte(in), &f); err != nil || f.Users != nil || f.Presences != nil {
			t.Errorf("%s: %+v, %v", in, f, err)
		}
	}
	full := Frame{Type: TypeMessages, Messages: make([]Message, MaxMessages), Attachments: make([]Attachment, MaxAttachments),
		Reactions: make([]Reaction, MaxReactions), Users: make([]string, MaxUsers), Presences: make([]Presence, MaxUsers)}
	full.Messages[0].Attachments, full.Messages[0].Reactions = full.Attachments, full.Reactions
	for _, c := range codecs {
		var back Frame
		if err := c.Decode(c.Append(nil, &full), &back); err != nil || !framesEqual(back, full) {
			t.Errorf("%s: arrays at their bounds: %v", c.Subprotocol(), err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec Codec
		in    string
		want  error
	}{
		{"json invalid utf-8", JSON, "{\"t\":5,\"c\":\"\xff\"}", ErrMalformed},
		{"json limits too many keys", JSON, `{"t":2,"l":{` + strings.Repeat(`"x":1,`, 64) + `"y":1}}`, ErrTooLarge},
		{"json limit duplicate", JSON, `{"t":2,"l":{"pi":1,"pi":2}}`, ErrMalformed},
		{"json limit negative", JSON, `{"t":2,"l":{"pi":-1}}`, ErrMalformed},
		{"json d64 after d", JSON, `{"t":5,"d64":"YQ==","d":"a"}`, ErrMalformed},
		{"json d wrong type", JSON, `{"t":5,"d":1}`, ErrMalformed},
		{"json ts fraction", JSON, `{"t":10,"ts":1.5}`, ErrMalformed},
		{"json key not string", JSON, `{1:2}`, ErrMalformed},
		{"json nesting bomb in l", JSON, `{"t":2,"l":{"x":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}}`, ErrMalformed},
		{"msgpack nesting bomb in l", Msgpack, "\x82\xa1t\x02\xa1l\x81\xa1x" + strings.Repeat("\x91", 31) + "\x90", ErrMalformed},
		{"msgpack float ts", Msgpack, "\x82\xa1t\x0a\xa2ts\xca\x00\x00\x00\x00", ErrMalformed},
		{"msgpack truncated ext", Msgpack, "\x82\xa1t\x09\xa1x\xc7\x05\x01", ErrMalformed},
		{"msgpack truncated fixext", Msgpack, "\x82\xa1t\x09\xa1x\xd8\x01", ErrMalformed},
		{"msgpack ms truncated in a message", Msgpack, "\x82\xa1t\x0f\xa2ms\x91\x81\xa1s", ErrMalformed},
		{"msgpack ms element truncated", Msgpack, "\x82\xa1t\x0f\xa2ms\x92\x80", ErrMalformed},
		{"msgpack rx map32 huge", Msgpack, "\x82\xa1t\x08\xa2rx\x91\xdf\xff\xff\xff\xff", ErrTooLarge},
		{"msgpack at array16 over bound", Msgpack, "\x82\xa1t\x05\xa2at\xdc\x00\x21", ErrTooLarge},
		{"msgpack duplicate reaction key", Msgpack, "\x82\xa1t\x08\xa2rx\x91\x82\xa1n\x01\xa1n\x01", ErrMalformed},
		{"msgpack duplicate ms", Msgpack, "\x83\xa1t\x0f\xa2ms\x90\xa2ms\x90", ErrMalformed},
		{"msgpack nested unknown in reaction too deep", Msgpack, "\x82\xa1t\x08\xa2rx\x91\x81\xa1z" +
			strings.Repeat("\x91", 30) + "\x90", ErrMalformed},
		{"json duplicate ms", JSON, `{"t":15,"ms":[],"ms":[]}`, ErrMalformed},
		{"json d64 and d in a message", JSON, `{"t":15,"ms":[{"d64":"YQ==","d":null}]}`, ErrMalformed},
		{"json ms truncated", JSON, `{"t":15,"ms":[{"s":1}`, ErrMalformed},
		{"json ms trailing comma", JSON, `{"t":15,"ms":[{"s":1},]}`, ErrMalformed},
		{"json bool as number", JSON, `{"t":15,"mo":0}`, ErrMalformed},
		{"json reaction too many keys", JSON, `{"t":8,"rx":[{` + strings.Repeat(`"x":1,`, 64) + `"y":1}]}`, ErrTooLarge},
		{"msgpack us element truncated", Msgpack, "\x82\xa1t\x10\xa2us\x92\xa1u\xa2", ErrMalformed},
		{"msgpack us element map", Msgpack, "\x82\xa1t\x10\xa2us\x91\x80", ErrMalformed},
		{"msgpack us element invalid utf-8", Msgpack, "\x82\xa1t\x10\xa2us\x91\xa1\xff", ErrMalformed},
		{"msgpack duplicate us", Msgpack, "\x83\xa1t\x10\xa2us\x90\xa2us\x90", ErrMalformed},
		{"msgpack ps element truncated", Msgpack, "\x82\xa1t\x10\xa2ps\x91\x81\xa1k", ErrMalformed},
		{"msgpack ps ts float", Msgpack, "\x82\xa1t\x10\xa2ps\x91\x81\xa2ts\xca\x00\x00\x00\x00", ErrMalformed},
		{"msgpack ps map16 huge", Msgpack, "\x82\xa1t\x10\xa2ps\x91\xde\xff\xff", ErrTooLarge},
		{"json us number element", JSON, `{"t":16,"us":["a",1]}`, ErrMalformed},
		{"json us nested array", JSON, `{"t":16,"us":[["a"]]}`, ErrMalformed},
		{"json duplicate ps", JSON, `{"t":16,"ps":[],"ps":[]}`, ErrMalformed},
		{"json ps duplicate key", JSON, `{"t":16,"ps":[{"tx":"a","tx":"b"}]}`, ErrMalformed},
		{"json ps too many keys", JSON, `{"t":16,"ps":[{` + strings.Repeat(`"x":1,`, 64) + `"y":1}]}`, ErrTooLarge},
		{"json ps ts fraction", JSON, `{"t":16,"ps":[{"ts":1.5}]}`, ErrMalformed},
		{"json attachments over bound in a message", JSON, `{"t":15,"ms":[{"at":[` + strings.Repeat(`{},`, 32) + `{}]}]}`, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f Frame
			if err := tc.codec.Decode([]byte(tc.in), &f); !errors.Is(err, tc.want) {
				t.Errorf("Decode = %v, want %v", err, tc.want)
			}
		})
	}
}

// Strings must be UTF-8 on the wire; a Go caller that puts invalid bytes in
// a string still gets valid JSON, with U+FFFD in their place.
func TestJSONAppendInvalidUTF8(t *testing.T) {
	f := Frame{Type: TypeError, Reason: "a\xffb\xc3"}
	got := string(JSON.Append(nil, &f))
	if want := `{"t":7,"r":"a` + "\uFFFD" + `b` + "\uFFFD" + `"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var back Frame
	if err := JSON.Decode([]byte(got), &back); err != nil || back.Reason != "a\uFFFDb\uFFFD" {
		t.Errorf("Decode = %+v, %v", back, err)
	}
}
