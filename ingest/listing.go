package ingest

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// listed is a segment or LL-HLS part of a media playlist, with the ingest
// wall-clock time of its end: the playlist's EXT-X-PROGRAM-DATE-TIME (the
// ingest time of the segment's first frame, see pipe.onH264) plus the
// durations before it. Media arrives paced in real time (ffmpeg -re), so
// that is when its last frame reached the server.
type listed struct {
	uri        string
	start, end time.Time
	part       bool
}

// parseMedia lists the segments and parts of a media playlist.
func parseMedia(body []byte) (items []listed, target time.Duration) {
	var cur time.Time // start of the current segment
	var partOffset, extinf time.Duration
	var gap bool
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			n, _ := strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-TARGETDURATION:"))
			target = time.Duration(n) * time.Second
		case strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"):
			if t, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:")); err == nil {
				cur, partOffset = t, 0
			}
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			attrs := attrList(strings.TrimPrefix(line, "#EXT-X-PART:"))
			d := seconds(attrs["DURATION"])
			if !cur.IsZero() && attrs["GAP"] != "YES" {
				items = append(items, listed{uri: attrs["URI"], start: cur.Add(partOffset), end: cur.Add(partOffset + d), part: true})
			}
			partOffset += d
		case strings.HasPrefix(line, "#EXTINF:"):
			extinf = seconds(strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(line, "#EXTINF:"), ",", 2)[0], ","))
		case line == "#EXT-X-GAP":
			gap = true
		case line != "" && !strings.HasPrefix(line, "#"):
			if !cur.IsZero() {
				if !gap {
					items = append(items, listed{uri: line, start: cur, end: cur.Add(extinf)})
				}
				cur = cur.Add(extinf)
			}
			partOffset, extinf, gap = 0, 0, false
		}
	}
	return items, target
}

func attrList(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

func seconds(s string) time.Duration {
	f, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return time.Duration(f * float64(time.Second))
}

// listingLatency is the time from a segment's (or LL-HLS part's) first
// frame reaching ingest to the segment being listed in its playlist: the
// longest any frame in it waits before a player can fetch it.
var listingLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "salam_ingest_listing_latency_seconds",
	Help:    "time from a segment's (LL-HLS: part's) first frame reaching ingest to its listing in the playlist",
	Buckets: []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13},
})

// listingPoll is how often watchListing reads a stream's own playlist.
const listingPoll = 100 * time.Millisecond

// watchListing measures listingLatency for one stream: it reads the
// muxer's media playlist (in process, no HTTP) every listingPoll and
// observes each newly listed item, until stop is closed. With LL-HLS only
// parts count: a frame is playable once its part is listed.
func (s *Server) watchListing(st *stream, m *gohlslib.Muxer, stop <-chan struct{}) {
	fetch := func(path string) []byte {
		w := &bufferWriter{header: http.Header{}}
		m.Handle(w, &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/" + path}, Header: http.Header{}})
		if w.status != 0 && w.status != http.StatusOK {
			return nil
		}
		return w.buf.Bytes()
	}
	t := time.NewTicker(listingPoll)
	defer t.Stop()
	var media string
	seen := map[string]bool{}
	first := true
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if media == "" {
			// index.m3u8 blocks until the first segment exists; Close
			// (before stop) unblocks it.
			for _, line := range strings.Split(string(fetch("index.m3u8")), "\n") {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
					media = line
					break
				}
			}
			continue
		}
		items, _ := parseMedia(fetch(media))
		now := s.now()
		parts := false
		for _, it := range items {
			parts = parts || it.part
		}
		for _, it := range items {
			if seen[it.uri] || it.part != parts {
				continue
			}
			seen[it.uri] = true
			if !first {
				d := now.Sub(it.start)
				listingLatency.Observe(d.Seconds())
				st.stats.listing.Store(int64(d))
			}
		}
		first = false // items listed before the first look are not measured
		if len(seen) > 4096 {
			seen = map[string]bool{}
			for _, it := range items {
				seen[it.uri] = true
			}
		}
	}
}

// bufferWriter is an in-memory http.ResponseWriter.
type bufferWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header         { return b.header }
func (b *bufferWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }
