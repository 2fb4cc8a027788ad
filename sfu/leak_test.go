package sfu

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/internal/bus/bustest"
)

// TestStopLeavesNoGoroutines: once the node stops and the clients are gone,
// every goroutine of the rooms, forwarding loops, RTCP readers and peer
// connections has ended.
func TestStopLeavesNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Run("room", func(t *testing.T) { // its cleanups (NATS, clients) run before the check
		srv, _ := bustest.Start(t)
		node := startNodeOn(t, srv)
		a := newTestClient(t, srv, "n1-leak", "a")
		b := newTestClient(t, srv, "n1-leak", "b")
		a.publish(webrtc.RTPCodecTypeVideo)
		b.publish(webrtc.RTPCodecTypeAudio)
		a.join()
		b.join()
		waitFor(t, 10*time.Second, "media both ways", func() bool { return a.packets("b/0") > 5 && b.packets("a/0") > 5 })
		node.Stop()
		a.close()
		b.close()
	})
	goleak.VerifyNone(t, before)
}
