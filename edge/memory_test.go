package edge

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// TestBusyConnectionMemoryStaysFlat keeps readBufferSize honest: frames
// flowing in on many connections leave their memory where it was after the
// first rounds, where netpoll's growing read buffers added kilobytes per
// connection as traffic went on.
func TestBusyConnectionMemoryStaysFlat(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.IPUpgradeRate, c.IPUpgradeBurst = 1e6, 1e6
		c.FrameRate, c.FrameBurst = 1e6, 1e6
	})
	cx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 300
	conns := make([]*wsclient.Conn, n)
	for i := range conns {
		c, err := wsclient.Dial(cx, f.url, wsclient.Options{Token: token(t, fmt.Sprintf("u%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Connect(cx, "memory"); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	// typing frames: nothing answers them, so only the edge's read side works
	rounds := func(from, to int) uint64 {
		for r := from; r < to; r++ {
			for _, c := range conns {
				if err := c.Send(&wire.Frame{Type: wire.TypeTyping, Channel: "room", ID: uint32(r + 1)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		waitFor(t, 10*time.Second, func() error { // until the edge has read them all
			var m dto.Metric
			f.srv.metrics.framesIn[wire.TypeTyping].Write(&m)
			if in := m.GetCounter().GetValue(); in < float64(to*n) {
				return fmt.Errorf("edge read %.0f of %d frames", in, to*n)
			}
			return nil
		})
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	warm := rounds(0, 100)
	after := rounds(100, 500)
	perConn := (float64(after) - float64(warm)) / n
	t.Logf("heap after warm-up %d B, after 400 more rounds %d B: %+.0f B per connection", warm, after, perConn)
	// With netpoll keeping read buffers, this grew by ~3.7 KB per connection;
	// flat is within a few hundred bytes of noise (pools, the test's clients,
	// other packages' tests sharing the machine).
	if perConn > 1536 {
		t.Errorf("memory grew by %.0f B per busy connection; want flat", perConn)
	}
}
