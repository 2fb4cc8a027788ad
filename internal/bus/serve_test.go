package bus

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Serve runs up to limit handlers at once, every request is answered, and
// Stop waits for the handlers still running.
func TestServeBoundsConcurrencyAndStopWaits(t *testing.T) {
	srv := startEmbedded(t, EmbeddedConfig{})
	core := connect(t, Config{Name: "core"}, srv)
	edge := connect(t, Config{Name: "edge"}, srv)
	release := make(chan struct{})
	var running, peak atomic.Int32
	s, err := Serve(core, "salam.test", 2, func(m *nats.Msg) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		running.Add(-1)
		m.Respond(m.Data)
	})
	if err != nil {
		t.Fatal(err)
	}
	core.Flush()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := edge.Request("salam.test", []byte{byte(i)}, 5*time.Second)
			if err == nil && (len(m.Data) != 1 || m.Data[0] != byte(i)) {
				err = fmt.Errorf("reply %x to request %d", m.Data, i)
			}
			errs <- err
		}()
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if running.Load() != 2 {
			return fmt.Errorf("%d handlers running, want 2", running.Load())
		}
		return nil
	})
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if peak.Load() != 2 {
		t.Errorf("peak concurrency %d, want 2", peak.Load())
	}

	started, block := make(chan struct{}), make(chan struct{})
	s2, err := Serve(core, "salam.test2", 4, func(m *nats.Msg) { close(started); <-block })
	if err != nil {
		t.Fatal(err)
	}
	core.Flush()
	edge.Publish("salam.test2", nil)
	<-started
	stopped := make(chan struct{})
	go func() { s2.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a handler was running")
	case <-time.After(100 * time.Millisecond):
	}
	close(block)
	<-stopped
	s.Stop()
}
