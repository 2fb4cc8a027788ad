package bus

import (
	"bytes"
	"reflect"
	"testing"
)

// seeds adds each encoding, its prefixes at a few split points (truncated
// messages), and the encoding with a byte appended.
func seeds(f *testing.F, encs [][]byte) {
	for _, enc := range encs {
		f.Add(enc)
		for _, cut := range []int{1, 2, len(enc) / 2, len(enc) - 1} {
			if cut > 0 && cut < len(enc) {
				f.Add(enc[:cut])
			}
		}
		f.Add(append(append([]byte(nil), enc...), 0xc1))
	}
}

func FuzzDecodeEvent(f *testing.F) {
	var encs [][]byte
	for _, ev := range eventExamples {
		if len(ev.Data) < 1024 {
			encs = append(encs, ev.AppendMsgpack(nil))
		}
	}
	seeds(f, encs)
	f.Fuzz(func(t *testing.T, in []byte) {
		var ev Event
		if err := ev.DecodeMsgpack(in); err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		var again Event
		if err := again.DecodeMsgpack(ev.AppendMsgpack(nil)); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		a, b := ev, again
		a.Data, b.Data = nil, nil
		if !reflect.DeepEqual(a, b) || !bytes.Equal(ev.Data, again.Data) {
			t.Fatalf("round trip changed %+v into %+v", ev, again)
		}
	})
}

func FuzzDecodePublish(f *testing.F) {
	var encs [][]byte
	for _, p := range publishExamples {
		if len(p.Data) < 1024 {
			encs = append(encs, p.AppendMsgpack(nil))
		}
	}
	seeds(f, encs)
	f.Fuzz(func(t *testing.T, in []byte) {
		var p Publish
		if err := p.DecodeMsgpack(in); err != nil {
			return
		}
		var again Publish
		if err := again.DecodeMsgpack(p.AppendMsgpack(nil)); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		a, b := p, again
		a.Data, b.Data = nil, nil
		if !reflect.DeepEqual(a, b) || !bytes.Equal(p.Data, again.Data) {
			t.Fatalf("round trip changed %+v into %+v", p, again)
		}
	})
}

func FuzzDecodePublishReply(f *testing.F) {
	var encs [][]byte
	for _, r := range replyExamples {
		encs = append(encs, r.AppendMsgpack(nil))
	}
	seeds(f, encs)
	f.Fuzz(func(t *testing.T, in []byte) {
		var r PublishReply
		if err := r.DecodeMsgpack(in); err != nil {
			return
		}
		var again PublishReply
		if err := again.DecodeMsgpack(r.AppendMsgpack(nil)); err != nil || again != r {
			t.Fatalf("round trip changed %+v into %+v (%v)", r, again, err)
		}
	})
}
