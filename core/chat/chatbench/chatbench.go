// Package chatbench drives acknowledged sends through core over NATS for
// benchmarks, wherever core runs (in process or as salam core processes).
package chatbench

import (
	"fmt"
	"slices"
	"sync"
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
func Drive(b *testing.B, nc *nats.Conn, user string, channels []string) {
	var next atomic.Int64
	lat := make([][]time.Duration, InFlight)
	body := make([]byte, 200)
	run := time.Now().UnixNano()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < InFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				ch := channels[i%int64(len(channels))]
				f := wire.Frame{Type: wire.TypePublish, Channel: ch, MsgID: fmt.Sprintf("m%d-%d", run, i), Data: body}
				req := bus.Request{User: user, Frame: wire.Msgpack.Append(nil, &f)}
				start := time.Now()
				m, err := nc.Request(bus.PublishSubject(ch), req.AppendMsgpack(nil), 10*time.Second)
				if err != nil {
					b.Error(err)
					return
				}
				var ack wire.Frame
				if wire.Msgpack.Decode(m.Data, &ack) != nil || ack.Type != wire.TypeAck {
					b.Errorf("reply %+v", ack)
					return
				}
				lat[w] = append(lat[w], time.Since(start))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}
