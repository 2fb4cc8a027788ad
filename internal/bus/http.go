package bus

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/nats-io/nats.go"
)

// RESTSubject carries HTTP requests from edges to core, so that a client
// may call the REST API on any edge: the edge forwards the request, core
// serves it and sends the response back. Both travel in HTTP/1.1 wire format
// (net/http's Request.Write and Response.Write), so nothing is lost or
// re-encoded on the way.
const RESTSubject = Prefix + ".rest"

// maxHTTPBody bounds a forwarded request or response body.
const maxHTTPBody = 8 << 20

// HTTPForwarder is an http.Handler for edges: it forwards each request to
// core over NATS and writes core's response.
type HTTPForwarder struct {
	NC      *nats.Conn
	Timeout time.Duration // zero: 10s
}

func (f *HTTPForwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	r.Body = http.MaxBytesReader(w, r.Body, maxHTTPBody)
	out := r.Clone(r.Context())
	out.RequestURI, out.Close = "", false
	if err := out.Write(&buf); err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	timeout := f.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	msg, err := f.NC.Request(RESTSubject, buf.Bytes(), timeout)
	if err != nil {
		http.Error(w, "core unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(msg.Data)), r)
	if err != nil {
		http.Error(w, "bad response from core", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// maxConcurrentHTTP bounds the forwarded requests one core serves at once.
const maxConcurrentHTTP = 64

// ServeHTTP answers forwarded requests with h, in the core queue group, up
// to maxConcurrentHTTP at a time.
func ServeHTTP(nc *nats.Conn, h http.Handler) (*Served, error) {
	return Serve(nc, RESTSubject, maxConcurrentHTTP, func(m *nats.Msg) { serveForwarded(m, h) })
}

// serveForwarded runs one forwarded request through h and replies with the
// whole response (httptest's recorder is a plain in-memory ResponseWriter).
func serveForwarded(m *nats.Msg, h http.Handler) {
	var out bytes.Buffer
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(m.Data)))
	if err != nil {
		fmt.Fprint(&out, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	} else {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		resp := rec.Result()
		resp.ContentLength = int64(rec.Body.Len())
		resp.Write(&out)
	}
	m.Respond(out.Bytes())
}
