package bus

import (
	"bytes"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Our encoding is plain msgpack that another implementation reads.
func TestInteropOursDecodedByLibrary(t *testing.T) {
	ev := eventExamples[1]
	var m map[string]any
	if err := msgpack.Unmarshal(ev.AppendMsgpack(nil), &m); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"c", "d", "f", "m", "s", "ts"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if m["c"] != ev.Channel || m["f"] != ev.From || m["m"] != ev.MsgID || !bytes.Equal(m["d"].([]byte), ev.Data) {
		t.Errorf("library read %v", m)
	}
	if s := reflect.ValueOf(m["s"]); !s.CanInt() || uint64(s.Int()) != ev.Seq {
		t.Errorf("seq %T %v, want %d", m["s"], m["s"], ev.Seq)
	}
}

// futureEvent is what a newer writer might send: more fields of other types.
type futureEvent struct {
	Channel string         `msgpack:"c"`
	Seq     uint64         `msgpack:"s"`
	From    string         `msgpack:"f"`
	Nested  map[string]any `msgpack:"zn"`
	List    []any          `msgpack:"zl"`
	Float   float64        `msgpack:"zf"`
	When    time.Time      `msgpack:"zt"` // msgpack timestamp extension
	Time    int64          `msgpack:"ts"`
	Data    []byte         `msgpack:"d"`
	Empty   []byte         `msgpack:"ze"` // nil
}

func TestInteropLibraryEncodedDecodedByOurs(t *testing.T) {
	in := futureEvent{
		Channel: "room1", Seq: 1 << 40, From: "bob", Time: -5,
		Nested: map[string]any{"a": []any{1, "two", map[string]any{"x": nil}}, "b": true},
		List:   []any{1.5, []byte{1, 2}, int64(-1 << 40)},
		Float:  3.25, When: time.Unix(1_700_000_000, 5), Data: []byte("payload"),
	}
	enc, err := msgpack.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := ev.DecodeMsgpack(enc); err != nil {
		t.Fatal(err)
	}
	want := Event{Channel: "room1", Seq: 1 << 40, From: "bob", Time: -5, Data: []byte("payload")}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("got %+v, want %+v", ev, want)
	}
}
