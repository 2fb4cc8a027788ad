package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/observe"
)

// NATSKeys checks stream keys with core/live over NATS
// (bus.LiveKeySubject). Only the key's SHA-256 travels, the same hash
// core stores (live.HashKey).
type NATSKeys struct{ NC *nats.Conn }

var _ KeyChecker = NATSKeys{}

// CheckKey implements KeyChecker.
func (k NATSKeys) CheckKey(ctx context.Context, key string) (StreamInfo, error) {
	data, _ := json.Marshal(bus.LiveKeyCheck{Hash: sha256Of(key)})
	msg, err := k.NC.RequestWithContext(ctx, bus.LiveKeySubject, data)
	if err != nil {
		return StreamInfo{}, fmt.Errorf("ingest: stream key check: %w", err)
	}
	var reply bus.LiveKeyReply
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return StreamInfo{}, fmt.Errorf("ingest: stream key check: %w", err)
	}
	switch reply.Error {
	case "":
		return StreamInfo{Name: reply.Stream, UserID: reply.User, Record: reply.Record}, nil
	case bus.LiveKeyBad:
		return StreamInfo{}, ErrBadKey
	}
	return StreamInfo{}, fmt.Errorf("ingest: stream key check: core: %s", reply.Error)
}

// NATSLifecycle publishes publish start/stop on bus.LiveEventSubject and,
// with ReportViewers, each live stream's HLS viewer count.
type NATSLifecycle struct {
	NC   *nats.Conn
	Node string // this ingest process, for core's logs
	Log  *slog.Logger
}

var _ Lifecycle = (*NATSLifecycle)(nil)

func (l *NATSLifecycle) send(ev bus.LiveEvent) {
	ev.Node, ev.At = l.Node, time.Now().UnixMilli()
	data, _ := json.Marshal(&ev)
	if err := l.NC.Publish(bus.LiveEventSubject, data); err != nil && l.Log != nil {
		l.Log.Warn("live event", "type", ev.Type, "stream", ev.Stream, "err", err)
	}
}

// Started implements Lifecycle.
func (l *NATSLifecycle) Started(info StreamInfo) {
	l.send(bus.LiveEvent{Type: bus.LiveStart, Stream: info.Name, User: info.UserID})
}

// Stopped implements Lifecycle.
func (l *NATSLifecycle) Stopped(info StreamInfo, reason error) {
	r := "ended"
	if reason != nil && !errors.Is(reason, io.EOF) {
		r = reason.Error()
	}
	l.send(bus.LiveEvent{Type: bus.LiveStop, Stream: info.Name, User: info.UserID, Reason: r})
}

// ReportViewers publishes every live stream's viewer count of s every
// interval until the returned stop is called.
func (l *NATSLifecycle) ReportViewers(s *Server, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	t := time.NewTicker(interval)
	go func() {
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			for _, name := range s.Live() {
				if st, ok := s.Stats(name); ok {
					l.send(bus.LiveEvent{Type: bus.LiveViewers, Stream: name, Viewers: st.Viewers})
				}
			}
		}
	}()
	return func() { close(done) }
}

// AnswerInspect answers the operations console's streams request
// (observe.InspectStreamsSubject) with every stream of s and its ingest
// figures, as node, until the returned stop is called. Replies run on
// nats.go's goroutine and take Server.mu and each stream.mu briefly.
func (s *Server) AnswerInspect(nc *nats.Conn, node string) (stop func(), err error) {
	sub, err := nc.Subscribe(observe.InspectStreamsSubject, func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		data, _ := json.Marshal(observe.IngestStreams{Node: node, Streams: s.inspect()})
		m.Respond(data)
	})
	if err != nil {
		return nil, err
	}
	return func() { sub.Unsubscribe() }, nil
}

// inspect lists the streams being published (their tracks known or not),
// by name.
func (s *Server) inspect() []observe.IngestStream {
	s.mu.Lock()
	streams := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	s.mu.Unlock()
	now := s.now()
	out := make([]observe.IngestStream, 0, len(streams))
	for _, st := range streams {
		x := st.snapshot(now)
		out = append(out, observe.IngestStream{Name: st.info.Name, User: st.info.UserID, Started: st.started.UnixMilli(),
			Bitrate: x.Bitrate, FPS: x.FPS, KeyframeIntervalMs: x.KeyframeInterval.Milliseconds(), Bytes: x.Bytes,
			DroppedFrames: x.DroppedFrames, HLSViewers: x.Viewers, ListingLatencyMs: x.ListingLatency.Milliseconds()})
	}
	slices.SortFunc(out, func(a, b observe.IngestStream) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func sha256Of(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}
