package relay

import (
	"testing"
	"time"

	"github.com/salamhq/salam/internal/bus"
)

// BenchmarkRequest measures one edge→relay publish round trip over an
// in-process NATS server; allocations of both ends and of nats.go included.
func BenchmarkRequest(b *testing.B) {
	b.Run("data=128", func(b *testing.B) { benchRequest(b, 128) })
	b.Run("data=4096", func(b *testing.B) { benchRequest(b, 4096) })
}

func benchRequest(b *testing.B, n int) {
	e := newEnv(b, Config{})
	p := bus.Publish{Channel: "room:general", From: "user-123456", MsgID: "01HZXJ6Q2M", Session: "sess-42",
		Data: make([]byte, n)}
	payload := p.AppendMsgpack(nil)
	subject := bus.PublishSubject(p.Channel)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := e.edge.Request(subject, payload, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
