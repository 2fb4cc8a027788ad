package console

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/salamhq/salam/core/live"
	"github.com/salamhq/salam/internal/observe"
)

// LiveStreams is what the streams view reads of core/live (live.Service).
type LiveStreams interface {
	Rooms() []live.Room
	PlaybackURL(stream string) string
}

// rooms shows every SFU node's rooms: participants, their published tracks
// with each layer's bitrate and packets, and per subscriber the layer
// forwarded to it. Every SFU node answers, with no rooms too. The view is
// audited (it names users).
func (c *Console) rooms(w http.ResponseWriter, r *http.Request) {
	if !noParams(w, r) || !c.audited(w, r, "view.rooms", "") {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	nodes, err := askEdges[observe.SFURooms](ctx, c, observe.InspectRoomsSubject, "")
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "bus: %v", err)
		return
	}
	if nodes == nil {
		nodes = []observe.SFURooms{}
	}
	for i := range nodes {
		if nodes[i].Rooms == nil {
			nodes[i].Rooms = []observe.SFURoom{}
		}
	}
	slices.SortFunc(nodes, func(a, b observe.SFURooms) int { return strings.Compare(a.Node, b.Node) })
	writeJSON(w, map[string]any{"nodes": nodes})
}

// streamView is one live stream as the streams view shows it: core/live's
// room and, when an ingest server answered for it, its ingest figures.
type streamView struct {
	Stream      string                `json:"stream"`
	Owner       string                `json:"owner"`
	Live        bool                  `json:"live"`
	StartedAt   time.Time             `json:"started_at"`
	EndedAt     *time.Time            `json:"ended_at,omitempty"`
	Viewers     int                   `json:"viewers"`     // HLS + WebSocket
	HLSViewers  int                   `json:"hls_viewers"` // players that fetched the playlist in the last 30 s
	WSViewers   int                   `json:"ws_viewers"`  // WebSocket subscribers of the room's chat channel
	Channel     string                `json:"channel"`
	PlaybackURL string                `json:"playback_url"`
	IngestNode  string                `json:"ingest_node,omitempty"`
	Ingest      *observe.IngestStream `json:"ingest,omitempty"`
}

// streams lists the live rooms this core holds (live first, newest first)
// with their viewers, and the ingest servers' figures of each stream
// (bitrate, fps, keyframe interval) from those that answer within
// askWindow. The view is audited.
func (c *Console) streams(w http.ResponseWriter, r *http.Request) {
	if !noParams(w, r) {
		return
	}
	if c.live == nil {
		writeProblem(w, http.StatusServiceUnavailable, "no live streaming service in this process")
		return
	}
	if !c.audited(w, r, "view.streams", "") {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	ingests, err := askEdges[observe.IngestStreams](ctx, c, observe.InspectStreamsSubject, "")
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "bus: %v", err)
		return
	}
	out := []streamView{}
	for _, room := range c.live.Rooms() {
		v := streamView{Stream: room.Stream, Owner: room.User, Live: room.Live, StartedAt: room.StartedAt,
			Viewers: room.Viewers, HLSViewers: room.HLSViewers, WSViewers: room.ChatViewers, Channel: room.Channel,
			PlaybackURL: c.live.PlaybackURL(room.Stream)}
		if !room.EndedAt.IsZero() {
			v.EndedAt = &room.EndedAt
		}
		for _, in := range ingests {
			for i := range in.Streams {
				if in.Streams[i].Name == room.Stream {
					v.IngestNode, v.Ingest = in.Node, &in.Streams[i]
				}
			}
		}
		out = append(out, v)
	}
	writeJSON(w, map[string]any{"streams": out, "ingest_nodes": len(ingests)})
}
