package bus

import (
	"bytes"
	"strings"
	"testing"
)

func TestDeliveryRoundTrip(t *testing.T) {
	for _, d := range []Delivery{
		{},
		{Kind: DeliverProbe, Session: "s1"},
		{Session: "s-7", Received: 1767225600000000001, Frame: bytes.Repeat([]byte{9}, 70000)},
	} {
		var got Delivery
		if err := got.DecodeMsgpack(d.AppendMsgpack(nil)); err != nil {
			t.Fatal(err)
		}
		if got.Kind != d.Kind || got.Session != d.Session || got.Received != d.Received || !bytes.Equal(got.Frame, d.Frame) {
			t.Fatalf("round trip %+v → %+v", d, got)
		}
	}
	var d Delivery
	for name, in := range map[string][]byte{
		"kind overflow": {0x81, 0xa1, 'k', 0xcd, 0x01, 0x00},
		"truncated":     {0x81, 0xa3, 's', 'i'},
	} {
		if d.DecodeMsgpack(in) == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecodeDelivery(f *testing.F) {
	f.Add((&Delivery{Kind: 1, Session: "s", Received: 5, Frame: []byte{1, 2}}).AppendMsgpack(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Delivery
		if d.DecodeMsgpack(data) != nil {
			return
		}
		var again Delivery
		if err := again.DecodeMsgpack(d.AppendMsgpack(nil)); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func TestCallSubjects(t *testing.T) {
	for id, want := range map[string]string{
		"k7f2q9ab-9c3d1e7f": "salam.call.k7f2q9ab",
		"A1-b2":             "salam.call.A1",
	} {
		if got, ok := CallSubject(id); !ok || got != want {
			t.Errorf("CallSubject(%q) = %q, %v", id, got, ok)
		}
	}
	for _, bad := range []string{"", "-", "a-", "-b", "a-b-c", "a.b-c", "a-b*", "a-" + strings.Repeat("b", 63), "ä-b"} {
		if _, ok := CallSubject(bad); ok {
			t.Errorf("CallSubject(%q) accepted", bad)
		}
	}
	for user, want := range map[string]string{
		"u-1042":  "salam.user.u-1042",
		"a.b":     "salam.user.~YS5i",
		"*":       "salam.user.~Kg",
		"with sp": "salam.user.~d2l0aCBzcA",
	} {
		if got := UserSubject(user); got != want {
			t.Errorf("UserSubject(%q) = %q, want %q", user, got, want)
		}
	}
}
