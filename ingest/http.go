package ingest

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bluenviron/gohlslib/v2"
)

// Cache-Control values: playlists change every part/segment, so a CDN may
// keep one for a second at most; segments, parts and init files have names
// that are never reused (gohlslib prefixes them with a random per-muxer
// token), so they are immutable.
const (
	cachePlaylist = "public, max-age=1"
	cacheSegment  = "public, max-age=31536000, immutable"
)

// Handler serves /live/<name>/<file>: index.m3u8, the media playlists,
// segments, LL-HLS parts (with blocking playlist reload) and init files,
// with CORS for web players.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/live/{name}/{file}", s.serveHLS)
	mux.HandleFunc("/live/{name}/abr/{rest...}", s.serveABR)
	mux.HandleFunc("/vod/{name}/{session}/{file}", s.serveVOD)
	return s.cors(mux)
}

// serveABR serves the transcode ladder ffmpeg writes: master.m3u8, one
// directory per rendition.
func (s *Server) serveABR(w http.ResponseWriter, r *http.Request) {
	st := s.lookup(r.PathValue("name"))
	dir := ""
	if st != nil {
		dir = st.abrDir()
	}
	if dir == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.Header().Set("Cache-Control", "no-cache")
		http.Error(w, "no transcoded stream", http.StatusNotFound)
		return
	}
	rest := filepath.Clean("/" + r.PathValue("rest"))
	if strings.HasSuffix(rest, ".m3u8") {
		addr, _, _ := net.SplitHostPort(r.RemoteAddr)
		st.viewers.touch(addr, r.UserAgent(), s.now())
	}
	serveFile(w, r, filepath.Join(dir, rest))
}

// serveFile serves a playlist or segment written by ffmpeg or the
// recorder, with our cache headers on success only: a segment not written
// yet must not be cached as missing.
func serveFile(w http.ResponseWriter, r *http.Request, path string) {
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		w.Header().Set("Cache-Control", "no-cache")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if strings.HasSuffix(path, ".m3u8") {
		w.Header().Set("Cache-Control", cachePlaylist) // live ladders and EVENT recordings grow
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	} else {
		w.Header().Set("Cache-Control", cacheSegment)
	}
	http.ServeFile(w, r, path)
}

// serveVOD serves recordings from Config.RecordDir.
func (s *Server) serveVOD(w http.ResponseWriter, r *http.Request) {
	name, session, file := r.PathValue("name"), r.PathValue("session"), r.PathValue("file")
	if s.cfg.RecordDir == "" || strings.HasPrefix(name, ".") || strings.HasPrefix(session, ".") || strings.HasPrefix(file, ".") ||
		(r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.Header().Set("Cache-Control", "no-cache")
		http.NotFound(w, r)
		return
	}
	serveFile(w, r, filepath.Join(s.cfg.RecordDir, name, session, file))
}

func (s *Server) serveHLS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, file := r.PathValue("name"), r.PathValue("file")
	var m *gohlslib.Muxer
	st := s.lookup(name)
	if st != nil {
		m = st.muxer()
	}
	if m == nil {
		w.Header().Set("Cache-Control", "no-cache")
		http.Error(w, "stream not live", http.StatusNotFound)
		return
	}
	playlist := strings.HasSuffix(file, ".m3u8")
	if playlist {
		addr, _, _ := net.SplitHostPort(r.RemoteAddr)
		st.viewers.touch(addr, r.UserAgent(), s.now())
	}
	cw := &cacheWriter{ResponseWriter: w, playlist: playlist}
	m.Handle(cw, r)
	if !cw.wrote { // gohlslib writes nothing for a file it does not know
		w.Header().Set("Cache-Control", "no-cache")
		http.Error(w, "not found", http.StatusNotFound)
	}
}

// cacheWriter replaces gohlslib's Cache-Control (30 s playlists, 1 h
// segments) by ours on successful answers.
type cacheWriter struct {
	http.ResponseWriter
	playlist bool
	wrote    bool
}

func (c *cacheWriter) WriteHeader(code int) {
	if c.wrote {
		return
	}
	c.wrote = true
	if code == http.StatusOK {
		v := cacheSegment
		if c.playlist {
			v = cachePlaylist
		}
		c.Header().Set("Cache-Control", v)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cacheWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

// cors lets web players on the allowed origins fetch playlists and
// segments (and read their Content-Length for bandwidth estimates).
func (s *Server) cors(next http.Handler) http.Handler {
	any := slices.Contains(s.cfg.AllowedOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		if origin != "" && (any || slices.Contains(s.cfg.AllowedOrigins, origin)) {
			if any {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Add("Vary", "Origin")
			}
			h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range")
		}
		if r.Method == http.MethodOptions {
			if origin != "" {
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Range")
				h.Set("Access-Control-Max-Age", "86400")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
