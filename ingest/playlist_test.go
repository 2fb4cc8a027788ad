package ingest

import (
	"bufio"
	"bytes"
	"sort"
	"strconv"
	"strings"
	"time"
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

// latencies tracks when each segment or part was first seen listed. For
// each it records the latency of every frame in it (frames every
// frameInterval from its start): a frame is playable once the segment or
// part holding it is listed, so the first frame of a segment waits the
// longest.
type latencies struct {
	seen map[string]bool
	d    []time.Duration // per frame
	item []time.Duration // per segment or part, from its end
}

const frameInterval = time.Second / 30

// observe records the items first listed at time at. With LL-HLS (parts
// listed) a frame is playable once its part is listed, so the complete
// segments, listed later, are not counted.
func (l *latencies) observe(items []listed, at time.Time, skipFirst bool) {
	parts := false
	for _, it := range items {
		parts = parts || it.part
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
		if skipFirst { // already listed when we first looked: no measure
			for _, it := range items {
				l.seen[it.uri] = true
			}
			return
		}
	}
	for _, it := range items {
		if !l.seen[it.uri] && it.part == parts {
			l.seen[it.uri] = true
			l.item = append(l.item, at.Sub(it.end))
			for f := it.start; f.Before(it.end); f = f.Add(frameInterval) {
				l.d = append(l.d, at.Sub(f))
			}
		}
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	d := append([]time.Duration(nil), ds...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(p * float64(len(d)-1))
	return d[i]
}
