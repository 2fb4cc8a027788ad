// Package chatbench drives acknowledged sends through core over NATS for
// benchmarks, wherever core runs (in process or as salam core processes).
package chatbench

import (
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/wire"
)

// InFlight is the number of sends the driver keeps outstanding.
const InFlight = 256

// Drive sends b.N messages as user, spread over channels (which must exist
// with user a member), keeping InFlight requests outstanding, and reports
// msgs/s and the ack latency p50/p99.
//
// It forwards the way an edge does (edge/requests.go): each request is
// published with a reply subject under one inbox, and one subscription
// takes every reply, so that the driver's own cost is an edge's, not a
// goroutine and a timer per request.
func Drive(b *testing.B, nc *nats.Conn, user string, channels []string) {
	prefix := nc.NewInbox() + "."
	started := make([]atomic.Int64, b.N) // unix nanos, by request index; atomic: set before the publish, read by the reply's goroutine
	lat := make([]time.Duration, 0, b.N)
	window := make(chan struct{}, InFlight)
	failed := make(chan error, 1)
	var acked atomic.Int64
	done := make(chan struct{})
	sub, err := nc.Subscribe(prefix+"*", func(m *nats.Msg) {
		i, err := strconv.Atoi(m.Subject[len(prefix):])
		var ack wire.Frame
		if err == nil {
			err = wire.Msgpack.Decode(m.Data, &ack)
		}
		if err != nil || ack.Type != wire.TypeAck || i < 0 || i >= b.N {
			select {
			case failed <- fmt.Errorf("reply to %s: %+v (%v)", m.Subject, ack, err):
			default:
			}
			return
		}
		lat = append(lat, time.Duration(time.Now().UnixNano()-started[i].Load())) // one subscription: one goroutine
		<-window
		if acked.Add(1) == int64(b.N) {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	sub.SetPendingLimits(-1, 64<<20)

	body := make([]byte, 200)
	run := time.Now().UnixNano()
	var frame, req []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		select {
		case window <- struct{}{}:
		case err := <-failed:
			b.Fatal(err)
		}
		ch := channels[i%len(channels)]
		f := wire.Frame{Type: wire.TypePublish, Channel: ch, MsgID: fmt.Sprintf("m%d-%d", run, i), Data: body}
		frame = wire.Msgpack.Append(frame[:0], &f)
		req = (&bus.Request{User: user, Frame: frame}).AppendMsgpack(req[:0])
		started[i].Store(time.Now().UnixNano())
		if err := nc.PublishRequest(bus.PublishSubject(ch), prefix+strconv.Itoa(i), req); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case err := <-failed:
		b.Fatal(err)
	case <-time.After(30 * time.Second):
		b.Fatalf("%d of %d sends unanswered after 30 s", int64(b.N)-acked.Load(), b.N)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
