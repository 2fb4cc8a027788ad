package bus

import "testing"

func BenchmarkAppendEvent(b *testing.B) {
	b.Run("data=0", func(b *testing.B) { benchAppendEvent(b, 0) })
	b.Run("data=128", func(b *testing.B) { benchAppendEvent(b, 128) })
	b.Run("data=4096", func(b *testing.B) { benchAppendEvent(b, 4096) })
}

func BenchmarkDecodeEvent(b *testing.B) {
	b.Run("data=0", func(b *testing.B) { benchDecodeEvent(b, 0) })
	b.Run("data=128", func(b *testing.B) { benchDecodeEvent(b, 128) })
	b.Run("data=4096", func(b *testing.B) { benchDecodeEvent(b, 4096) })
}

func BenchmarkAppendPublish(b *testing.B) {
	p := Publish{Channel: "room:general", From: "user-123456", MsgID: "01HZXJ6Q2M", Session: "sess-42",
		Data: data(128), Received: 1_700_000_000_123_456_789}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(p.AppendMsgpack(nil))))
	for b.Loop() {
		buf = p.AppendMsgpack(buf[:0])
	}
}

func BenchmarkDecodePublish(b *testing.B) {
	in := Publish{Channel: "room:general", From: "user-123456", MsgID: "01HZXJ6Q2M", Session: "sess-42",
		Data: data(128), Received: 1_700_000_000_123_456_789}
	enc := in.AppendMsgpack(nil)
	var p Publish
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if err := p.DecodeMsgpack(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPublishReply(b *testing.B) {
	r := PublishReply{Seq: 123_456, Time: 1_700_000_000_123}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendMsgpack(buf[:0])
	}
}

func benchEvent(n int) Event {
	return Event{Channel: "room:general", Seq: 123_456, From: "user-123456", MsgID: "01HZXJ6Q2M",
		Time: 1_700_000_000_123, Data: data(n)}
}

func benchAppendEvent(b *testing.B, n int) {
	ev := benchEvent(n)
	buf := make([]byte, 0, n+128)
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.AppendMsgpack(nil))))
	for b.Loop() {
		buf = ev.AppendMsgpack(buf[:0])
	}
}

func benchDecodeEvent(b *testing.B, n int) {
	in := benchEvent(n)
	enc := in.AppendMsgpack(nil)
	var ev Event
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if err := ev.DecodeMsgpack(enc); err != nil {
			b.Fatal(err)
		}
	}
}
