package ingest

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// FuzzRTMPConn feeds arbitrary bytes to an RTMP connection: the server must
// neither panic nor hang (every input ends within the handshake timeout,
// here at EOF), and no stream may start without a valid key.
func FuzzRTMPConn(f *testing.F) {
	c0c1 := append([]byte{0x03}, make([]byte, 1536)...)
	f.Add([]byte{})
	f.Add([]byte{0x03})
	f.Add(c0c1)
	f.Add(append(append(append([]byte{}, c0c1...), make([]byte, 1536)...), 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x14, 0x00, 0x00, 0x00, 0x00))
	f.Add(append([]byte{0x06}, make([]byte, 1536)...)) // RTMPE
	s, err := New(Options{Config: Config{HandshakeTimeout: time.Second}, Keys: keyMap{"k": {Name: "n"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { s.handleConn(server); close(done) }()
		go io.Copy(io.Discard, client)
		go func() { client.Write(data); client.Close() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("handleConn hung on %d bytes", len(data))
		}
		if len(s.Live()) != 0 {
			t.Fatal("a stream started from fuzz input")
		}
	})
}
