package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/core/live"
	"github.com/salamhq/salam/internal/bus/bustest"
	"github.com/salamhq/salam/internal/observe"
)

type fakeLive []live.Room

func (f fakeLive) Rooms() []live.Room { return f }
func (f fakeLive) PlaybackURL(stream string) string {
	return "http://localhost:8888/live/" + stream + "/index.m3u8"
}

// memAudit is an AuditLog in memory.
type memAudit struct {
	mu   sync.Mutex
	recs []AuditRecord
}

func (m *memAudit) AppendAudit(_ context.Context, rec AuditRecord) (AuditRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec.Seq = uint64(len(m.recs) + 1)
	m.recs = append(m.recs, rec)
	return rec, nil
}

func (m *memAudit) AuditRecords(context.Context, uint64, int) ([]AuditRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.recs), nil
}

// answer replies to every request on subject with v, as a node would.
func answer(t *testing.T, nc *nats.Conn, subject string, v any) {
	t.Helper()
	data, _ := json.Marshal(v)
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) { m.Respond(data) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	nc.Flush()
}

// TestRoomsAndStreams: the rooms view gathers every SFU node's answer; the
// streams view joins core/live's rooms with the ingest servers' figures;
// both are audited.
func TestRoomsAndStreams(t *testing.T) {
	_, nc := bustest.Start(t)
	audit := &memAudit{}
	started := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	c, err := New(Options{NATS: nc, Authenticate: fakeTokens, Audit: audit, Live: fakeLive{
		{Stream: "show", User: "alice", Channel: "live-show", Live: true, StartedAt: started, Viewers: 5, HLSViewers: 3, ChatViewers: 2},
		{Stream: "old", User: "bob", Channel: "live-old", StartedAt: started.Add(-time.Hour), EndedAt: started},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)

	answer(t, nc, observe.InspectRoomsSubject, observe.SFURooms{Node: "sfu-b", Rooms: []observe.SFURoom{{ID: "n1-call",
		Participants: []observe.SFUParticipant{{User: "alice", Session: "s1", Role: "speaker", Tracks: []observe.SFUTrack{{
			Mid: "0", Kind: "video", Layers: []observe.SFULayer{{Layer: 0, Bitrate: 300000, Packets: 10}},
			Subscribers: []observe.SFUSubscriber{{User: "bob", Layer: 0}}}}}}}}})
	answer(t, nc, observe.InspectRoomsSubject, observe.SFURooms{Node: "sfu-a"})
	answer(t, nc, observe.InspectStreamsSubject, observe.IngestStreams{Node: "ingest-1", Streams: []observe.IngestStream{
		{Name: "show", User: "alice", Bitrate: 2.5e6, FPS: 30, KeyframeIntervalMs: 2000}}})

	status, body := get(t, srv.URL+"/console/api/rooms", "admin")
	if status != http.StatusOK {
		t.Fatalf("rooms: %d %v", status, body)
	}
	nodes := body["nodes"].([]any)
	if len(nodes) != 2 || nodes[0].(map[string]any)["node"] != "sfu-a" || len(nodes[0].(map[string]any)["rooms"].([]any)) != 0 {
		t.Fatalf("rooms: %v", body)
	}
	room := nodes[1].(map[string]any)["rooms"].([]any)[0].(map[string]any)
	p := room["participants"].([]any)[0].(map[string]any)
	tr := p["tracks"].([]any)[0].(map[string]any)
	if room["id"] != "n1-call" || p["user"] != "alice" || tr["layers"].([]any)[0].(map[string]any)["bitrate"] != float64(300000) ||
		tr["subscribers"].([]any)[0].(map[string]any)["user"] != "bob" {
		t.Errorf("room: %v", room)
	}

	status, body = get(t, srv.URL+"/console/api/streams", "admin")
	if status != http.StatusOK {
		t.Fatalf("streams: %d %v", status, body)
	}
	streams := body["streams"].([]any)
	if len(streams) != 2 || body["ingest_nodes"] != float64(1) {
		t.Fatalf("streams: %v", body)
	}
	show, old := streams[0].(map[string]any), streams[1].(map[string]any)
	in, _ := show["ingest"].(map[string]any)
	if show["stream"] != "show" || show["owner"] != "alice" || show["viewers"] != float64(5) || show["hls_viewers"] != float64(3) ||
		show["ws_viewers"] != float64(2) || show["playback_url"] != "http://localhost:8888/live/show/index.m3u8" ||
		show["ingest_node"] != "ingest-1" || in["bitrate"] != float64(2.5e6) || in["fps"] != float64(30) ||
		in["keyframe_interval_ms"] != float64(2000) {
		t.Errorf("live stream: %v", show)
	}
	if old["live"] != false || old["ended_at"] == nil || old["ingest"] != nil {
		t.Errorf("ended stream: %v", old)
	}

	var actions []string
	recs, _ := audit.AuditRecords(context.Background(), 0, 10)
	for _, r := range recs {
		actions = append(actions, r.Action+" "+r.Actor)
	}
	if len(actions) != 2 || actions[0] != "view.rooms ops" || actions[1] != "view.streams ops" {
		t.Errorf("audited %v, want view.rooms and view.streams by ops", actions)
	}
}
