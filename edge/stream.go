package edge

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
)

// Server-Sent Events over the edge's plain HTTP. Plain HTTP here is
// otherwise buffered and served on the read pool; a GET that asks for
// text/event-stream (the console's live overview) instead gets its own
// goroutine, which owns the response until the handler returns or the
// peer goes away (onClose cancels the request's context). The connection
// then carries nothing else: further input is discarded, the handshake
// timeout no longer applies, and it closes when the stream ends.

// wantsStream reports whether req is an event-stream request.
func wantsStream(req *http.Request) bool {
	return req.Method == http.MethodGet && req.Header.Get("Accept") == "text/event-stream"
}

// serveStream starts the streaming handler of req on its own goroutine.
func (c *conn) serveStream(req *http.Request) {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cancel()
		return
	}
	c.cancelStream = cancel
	c.mu.Unlock()
	c.streaming.Store(true)
	go func() {
		defer cancel()
		rw := &streamResponse{c: c, header: make(http.Header)}
		c.srv.http.ServeHTTP(rw, req.WithContext(ctx))
		rw.end()
	}()
}

// streamResponse is the http.ResponseWriter (and Flusher) of a stream: the
// head goes out at the first flush, without a length, and the body ends
// when the connection closes.
type streamResponse struct {
	c      *conn
	header http.Header
	mu     sync.Mutex // the handler may flush from another goroutine
	status int
	sent   bool // head written
	buf    bytes.Buffer
}

var errStreamClosed = errors.New("edge: stream closed")

func (r *streamResponse) Header() http.Header { return r.header }

func (r *streamResponse) WriteHeader(status int) {
	r.mu.Lock()
	if r.status == 0 {
		r.status = status
	}
	r.mu.Unlock()
}

func (r *streamResponse) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.c.isClosed() {
		return 0, errStreamClosed
	}
	return r.buf.Write(p)
}

// Flush writes the head (once) and what the handler wrote since.
func (r *streamResponse) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushLocked()
}

func (r *streamResponse) flushLocked() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	var out []byte
	if !r.sent {
		var head bytes.Buffer
		head.WriteString("HTTP/1.1 " + strconv.Itoa(r.status) + " " + http.StatusText(r.status) + "\r\n")
		r.header.Set("Connection", "close")
		r.header.Del("Content-Length")
		r.header.Write(&head)
		head.WriteString("\r\n")
		out = head.Bytes()
		r.sent = true
	}
	out = append(out, r.buf.Bytes()...)
	r.buf.Reset()
	if len(out) > 0 {
		r.c.write(out)
	}
}

// end sends what is left and closes the connection. A handler that never
// flushed (an error before streaming) gets an ordinary response.
func (r *streamResponse) end() {
	r.mu.Lock()
	if !r.sent {
		rw := &bufferedResponse{header: r.header, status: r.status}
		rw.body.Write(r.buf.Bytes())
		r.mu.Unlock()
		r.c.writeAndClose(rw.bytes(false, false))
		return
	}
	r.flushLocked()
	r.mu.Unlock()
	r.c.writeAndClose(nil)
}
