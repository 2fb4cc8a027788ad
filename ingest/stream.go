package ingest

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
)

// stream is one live stream: its publisher's connection and, once the
// tracks are known, the HLS muxer viewers read.
type stream struct {
	info    StreamInfo
	conn    net.Conn
	started time.Time
	done    chan struct{} // closed when the publisher goroutine has released the stream
	// replaced is set before conn is closed by a replacing publisher, so
	// that the old one reports ErrReplaced rather than a read error.
	replaced atomic.Bool

	mu  sync.Mutex
	mux *gohlslib.Muxer // nil until the tracks are known; guarded by mu
	abr string          // the transcode ladder's directory, "" without; guarded by mu

	stats   streamStats
	viewers viewers
}

func (st *stream) muxer() *gohlslib.Muxer {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.mux
}

func (st *stream) abrDir() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.abr
}

func (st *stream) setABR(dir string) {
	st.mu.Lock()
	st.abr = dir
	st.mu.Unlock()
}

func (st *stream) setMuxer(m *gohlslib.Muxer) {
	st.mu.Lock()
	st.mux = m
	st.mu.Unlock()
}

// claim makes a stream for info with conn as its publisher. With another
// publisher on the same stream it returns ErrStreamBusy (policy reject) or
// disconnects that one and waits for it to release the stream (replace).
func (s *Server) claim(info StreamInfo, conn net.Conn) (*stream, error) {
	deadline := time.NewTimer(s.cfg.HandshakeTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		old := s.streams[info.Name]
		if old == nil {
			st := &stream{info: info, conn: conn, started: s.now(), done: make(chan struct{})}
			s.streams[info.Name] = st
			s.mu.Unlock()
			return st, nil
		}
		if s.cfg.OnSecondPublisher == SecondReject {
			s.mu.Unlock()
			return nil, ErrStreamBusy
		}
		old.replaced.Store(true)
		old.conn.Close()
		s.mu.Unlock()
		select {
		case <-old.done:
		case <-deadline.C:
			return nil, ErrStreamBusy
		}
	}
}

// release ends st: closes its muxer (viewers get 404 from now on), reports
// Stopped, and frees the name for the next publisher.
func (s *Server) release(st *stream, reason error) {
	if m := st.muxer(); m != nil {
		st.setMuxer(nil)
		m.Close()
		if s.life != nil {
			s.life.Stopped(st.info, reason)
		}
	}
	s.mu.Lock()
	if s.streams[st.info.Name] == st {
		delete(s.streams, st.info.Name)
	}
	s.mu.Unlock()
	close(st.done)
}

// lookup returns the stream named name, or nil.
func (s *Server) lookup(name string) *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[name]
}
