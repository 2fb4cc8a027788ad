package edge

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/salamhq/salam/wire"
)

// The per-frame paths allocate nothing: a WebSocket ping, an application
// ping envelope (answered by a pong), and writing a shared event frame.
func TestFramePathsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (make test runs this test without -race too)")
	}
	f := newFixture(t, func(c *Config) { c.FrameRate, c.FrameBurst = 1e9, 1e9 })
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(fds[0], true) // as netpoll leaves every socket
	unix.SetNonblock(fds[1], true)
	defer unix.Close(fds[1])
	defer unix.Close(fds[0])
	drain := func() { // between cases: every small write holds ~1 KiB of socket buffer
		buf := make([]byte, 64<<10)
		for n, _ := unix.Read(fds[1], buf); n > 0; n, _ = unix.Read(fds[1], buf) {
		}
	}
	c := &conn{srv: f.srv, fd: fds[0], codec: wire.Msgpack}
	c.state.Store(stateConnected)

	appPing := maskedFrame(0x82, wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypePing, ID: 7}))
	event, _ := encodeFrame(nil, wire.Msgpack, &wire.Frame{Type: wire.TypeEvent, Channel: "c", Seq: 1, Data: []byte("hello")})
	cases := map[string]func(){
		"websocket ping": inPlace(c, maskedFrame(0x89, []byte("hb"))),
		"envelope ping":  inPlace(c, appPing),
		"event write":    func() { c.write(event) },
	}
	for name, run := range cases {
		run() // warm pools
		if n := testing.AllocsPerRun(50, run); n != 0 {
			t.Errorf("%s: %.1f allocations per frame, want 0", name, n)
		}
		drain()
	}
}

// inPlace returns a func that hands a fresh copy of frame (unmasking
// mutates it) to c.process.
func inPlace(c *conn, frame []byte) func() {
	buf := make([]byte, len(frame))
	return func() {
		copy(buf, frame)
		if n := c.process(buf); n != len(buf) {
			panic("frame not consumed")
		}
	}
}
