package edge

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/salamhq/salam/wire"
)

func BenchmarkFanout100(b *testing.B)  { benchFanout(b, 100, 0) }
func BenchmarkFanout1000(b *testing.B) { benchFanout(b, 1000, 0) }

// Mixed codecs: the event is encoded once per codec, not per receiver.
func BenchmarkFanout1000HalfJSON(b *testing.B) { benchFanout(b, 1000, 500) }

// benchFanout measures one event written to n local subscribers (jsonSubs of
// them on salam.v1.json) over Unix socket pairs. The peers are drained with
// the timer stopped, so the figure is the edge's side alone: ns/op is per
// event, ns/delivery per subscriber.
func benchFanout(b *testing.B, n, jsonSubs int) {
	f := newFixture(&testing.T{}, nil)
	defer f.srv.Close()
	var peers []int
	for i := 0; i < n; i++ {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			b.Fatal(err)
		}
		unix.SetNonblock(fds[0], true) // as netpoll leaves every socket
		unix.SetNonblock(fds[1], true)
		peers = append(peers, fds[1])
		b.Cleanup(func() { unix.Close(fds[1]); unix.Close(fds[0]) })
		c := &conn{srv: f.srv, fd: fds[0], codec: wire.Msgpack}
		if i < jsonSubs {
			c.codec = wire.JSON
		}
		c.state.Store(stateConnected)
		c.subs = map[string]*subscription{"bench": {ready: true}}
		f.srv.hub.mu.Lock()
		lc := f.srv.hub.channels["bench"]
		if lc == nil {
			lc = &localChannel{members: map[*conn]struct{}{}}
			f.srv.hub.channels["bench"] = lc
		}
		lc.members[c] = struct{}{}
		lc.dirty = true
		f.srv.hub.mu.Unlock()
	}
	ev := wire.Frame{Type: wire.TypeEvent, Channel: "bench", Seq: 1, From: "alice", MsgID: "m-1", Data: make([]byte, 128)}
	raw := wire.Msgpack.Append(nil, &ev)
	b.ReportAllocs()
	b.ResetTimer()
	drain := make([]byte, 64<<10)
	for i := 0; i < b.N; i++ {
		ev.Seq++ // a new message each time, as core sends them
		raw = wire.Msgpack.Append(raw[:0], &ev)
		f.srv.hub.fanout("bench", &ev, raw)
		if i%64 == 63 { // keep socket buffers from filling
			b.StopTimer()
			for _, fd := range peers {
				for n, _ := unix.Read(fd, drain); n > 0; n, _ = unix.Read(fd, drain) {
				}
			}
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
}
