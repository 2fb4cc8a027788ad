package edge

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An event stream is served on its own goroutine, flushes as it goes, and
// its handler ends when the client goes away; a handler that never flushes
// gets an ordinary response.
func TestEventStream(t *testing.T) {
	ended := make(chan struct{}, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			http.Error(w, "nope", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
				break
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				ended <- struct{}{}
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		ended <- struct{}{}
	})
	f := newFixture(t, func(c *Config) { c.HandshakeTimeout = 200 * time.Millisecond },
		func(o *Options) { o.Handler = handler })
	addr := f.srv.Addr().String()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	rd := bufio.NewReader(c)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("response %+v, %v", resp, err)
	}
	// Past the handshake timeout, events keep coming.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	deadline := time.Now().Add(400 * time.Millisecond)
	events := 0
	for time.Now().Before(deadline) {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v", events, err)
		}
		if strings.HasPrefix(line, "data: ") {
			events++
		}
	}
	if events < 5 {
		t.Fatalf("%d events in 400 ms", events)
	}
	c.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler outlived its client")
	}

	// Not streamed after all: a complete response, then the connection closes.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "GET /plain HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("plain response %+v, %v", resp, err)
	}
}
