package wire

import (
	"encoding/hex"
	"reflect"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to both decoders. Decode must never
// panic, and whatever either decoder accepts must survive
// Append → Decode through both codecs unchanged.
func FuzzDecode(f *testing.F) {
	var inputs [][]byte
	g := loadGolden(f)
	for _, v := range g.Canonical {
		mp, _ := hex.DecodeString(v.Msgpack)
		inputs = append(inputs, mp, []byte(v.JSON))
	}
	for _, v := range append(g.DecodeOnly, g.Invalid...) {
		if v.InputMsgpack != nil {
			mp, _ := hex.DecodeString(*v.InputMsgpack)
			inputs = append(inputs, mp)
		}
		if v.InputJSON != nil {
			inputs = append(inputs, []byte(*v.InputJSON))
		}
	}
	for i, in := range inputs {
		f.Add(in)
		// Chunked and split variants: every cut of short inputs, halves
		// and a dropped last byte of long ones, two envelopes in one.
		if len(in) <= 24 {
			for n := 0; n < len(in); n++ {
				f.Add(in[:n])
				f.Add(in[n:])
			}
		} else {
			f.Add(in[:len(in)/2])
			f.Add(in[len(in)/2:])
			f.Add(in[:len(in)-1])
		}
		next := inputs[(i+2)%len(inputs)] // same codec: inputs alternate msgpack, JSON
		f.Add(append(append([]byte(nil), in...), next...))
	}
	// A page with every nested shape, and arrays just under and at their
	// bounds, in both codecs.
	page := Frame{Type: TypeMessages, ID: 1, Channel: "c", More: true, Messages: benchPage(12)}
	bounds := Frame{Type: TypeEvent, Attachments: make([]Attachment, MaxAttachments), Reactions: make([]Reaction, MaxReactions-1)}
	users := Frame{Type: TypePresence, Users: make([]string, MaxUsers-1), Presences: make([]Presence, 20)}
	for i := range users.Presences {
		users.Presences[i] = Presence{User: "u-" + string(rune('a'+i)), Kind: uint8(i % 3), LastSeen: int64(i) - 10,
			Status: "✓", Invisible: i%2 == 0}
	}
	for _, fr := range []*Frame{&page, &bounds, &users} {
		for _, c := range codecs {
			f.Add(c.Append(nil, fr))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range codecs {
			var fr Frame
			if err := c.Decode(data, &fr); err != nil {
				continue
			}
			for _, rc := range codecs {
				enc := rc.Append(nil, &fr)
				var back Frame
				if err := rc.Decode(enc, &back); err != nil {
					t.Fatalf("%s accepted %q as %+v; %s cannot decode its own %q: %v",
						c.Subprotocol(), data, fr, rc.Subprotocol(), enc, err)
				}
				if !reflect.DeepEqual(normFrame(back), normFrame(fr)) {
					t.Fatalf("%s round trip of %+v gave %+v (via %q)", rc.Subprotocol(), fr, back, enc)
				}
			}
		}
	})
}
