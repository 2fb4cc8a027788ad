package wire

import (
	"strconv"
	"testing"

	"github.com/valyala/bytebufferpool"
)

// Frames of the shapes that dominate traffic: publishes in, events out, and
// the connected reply once per session.
var benchFrames = map[string]Frame{
	"publish": {Type: TypePublish, ID: 4711, Channel: "room:general",
		Data: []byte(`{"text":"Selamat pagi semua! صباح الخير 👋","reply_to":"01JD5Z3X8K"}`), MsgID: "01JD5Z4A2B"},
	"event": {Type: TypeEvent, Channel: "room:general",
		Data: []byte(`{"text":"Selamat pagi semua! صباح الخير 👋","reply_to":"01JD5Z3X8K"}`),
		Seq:  1048577, MsgID: "01JD5Z4A2B", From: "u-1042", Time: 1767225600123},
	"connected": {Type: TypeConnected, ID: 1, Time: 1767225600000, Session: "s-7Hq2mKx9", User: "u-1042",
		Limits: Limits{MaxFrame: 65536, PublishRate: 10, PublishBurst: 20, PingInterval: 25, MaxSubscribed: 100}},
	"messages": {Type: TypeMessages, ID: 12, Channel: "room:general", More: true, Messages: benchPage(50)},
}

// benchPage returns n messages of a typical history page: a few senders,
// one content type, short bodies; every 5th a reply, every 7th with an
// attachment, every 4th with reactions, one edited, one deleted.
func benchPage(n int) []Message {
	senders := []string{"u-1042", "u-7", "u-31337", "u-9"}
	ms := make([]Message, n)
	for i := range ms {
		seq := uint64(1048577 - i)
		m := Message{Seq: seq, From: senders[i%len(senders)], MsgID: "01JD5Z4A" + strconv.Itoa(1000+i),
			ContentType: "text/plain", Data: []byte("Selamat pagi semua! صباح الخير 👋 #" + strconv.Itoa(i)),
			Time: 1767225600123 - int64(i)*45000}
		if i%5 == 1 {
			m.ReplyTo = seq - 3
		}
		if i%7 == 3 {
			m.Attachments = []Attachment{{URL: "https://cdn.salam.example/a/" + strconv.Itoa(i) + "/photo.jpg",
				Mime: "image/jpeg", Size: 183204, Name: "photo.jpg"}}
		}
		if i%4 == 2 {
			m.Reactions = []Reaction{{Emoji: "👍", Count: 3}, {Emoji: "❤️", Count: 1}}
		}
		switch i {
		case 10:
			m.Edited = m.Time + 60000
		case 20:
			m.ContentType, m.Data, m.Deleted = "", nil, true
		}
		ms[i] = m
	}
	return ms
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range codecs {
		for _, name := range []string{"publish", "event", "connected", "messages"} {
			b.Run(codecName(c)+"/"+name, func(b *testing.B) { benchEncode(b, c, name) })
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range codecs {
		for _, name := range []string{"publish", "event", "connected", "messages"} {
			b.Run(codecName(c)+"/"+name, func(b *testing.B) { benchDecode(b, c, name) })
		}
	}
}

func codecName(c Codec) string {
	if c.Binary() {
		return "msgpack"
	}
	return "json"
}

// benchEncode encodes the way the edge does: into a pooled buffer.
func benchEncode(b *testing.B, c Codec, name string) {
	f := benchFrames[name]
	b.ReportAllocs()
	b.SetBytes(int64(len(c.Append(nil, &f))))
	for b.Loop() {
		buf := bytebufferpool.Get()
		buf.B = c.Append(buf.B[:0], &f)
		bytebufferpool.Put(buf)
	}
}

// benchDecode decodes into one reused frame, as a connection's read loop does.
func benchDecode(b *testing.B, c Codec, name string) {
	f := benchFrames[name]
	in := c.Append(nil, &f)
	var out Frame
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := c.Decode(in, &out); err != nil {
			b.Fatal(err)
		}
	}
}
