package bus

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestPresenceReportRoundTrip(t *testing.T) {
	many := make([]string, 70000)
	for i := range many {
		many[i] = "u" + strconv.Itoa(i)
	}
	for _, r := range []PresenceReport{
		{},
		{Edge: "e1", TTL: 30000, Online: []string{"alice", "bob"}},
		{Edge: "e2", Joined: []string{"carol"}, Left: []string{"dave", "erin"}},
		{Edge: "e3", Online: many[:20]},
		{Edge: "e4", Online: many},
	} {
		b := r.AppendMsgpack(nil)
		var got PresenceReport
		if err := got.DecodeMsgpack(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip of %d online users differs", len(r.Online))
		}
		var m map[string]any // the msgpack library reads the same bytes
		if err := msgpack.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
	}
	for name, in := range map[string][]byte{
		"array over input": {0x81, 0xa2, 'o', 'n', 0xdd, 0, 0x0f, 0xff, 0xff},
		"not an array":     {0x81, 0xa1, 'j', 0x05},
		"not strings":      {0x81, 0xa1, 'l', 0x91, 0x05},
	} {
		var r PresenceReport
		if r.DecodeMsgpack(in) == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
