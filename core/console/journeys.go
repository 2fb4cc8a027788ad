package console

import (
	"encoding/json"
	"sort"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/internal/observe"
)

// journeys is the bounded ring of recent traces: at most max traces of at
// most maxSpans spans each; the oldest trace goes first. mu guards all.
type journeys struct {
	max int

	mu    sync.Mutex
	byID  map[string]*journey
	order []string // trace ids, oldest first
	byMsg map[string]string
}

type journey struct {
	ID      string         `json:"trace"`
	Channel string         `json:"channel,omitempty"`
	MsgID   string         `json:"msg_id,omitempty"`
	Start   int64          `json:"start"` // earliest span start, Unix ns
	Spans   []observe.Span `json:"spans,omitempty"`
}

const maxSpans = 256

func newJourneys(max int) *journeys {
	return &journeys{max: max, byID: make(map[string]*journey), byMsg: make(map[string]string)}
}

// onSpan adds one published span to its journey.
func (js *journeys) onSpan(m *nats.Msg) {
	var s observe.Span
	if err := json.Unmarshal(m.Data, &s); err != nil || len(s.Trace) != 32 || s.Name == "" {
		return
	}
	delete(s.Attrs, "body") // never shown, whoever sent it
	js.mu.Lock()
	defer js.mu.Unlock()
	j := js.byID[s.Trace]
	if j == nil {
		if len(js.order) >= js.max {
			old := js.byID[js.order[0]]
			delete(js.byID, old.ID)
			delete(js.byMsg, msgKey(old.Channel, old.MsgID))
			js.order = js.order[1:]
		}
		j = &journey{ID: s.Trace, Start: s.Start}
		js.byID[s.Trace] = j
		js.order = append(js.order, s.Trace)
	}
	if len(j.Spans) >= maxSpans {
		return
	}
	j.Spans = append(j.Spans, s)
	if s.Start < j.Start {
		j.Start = s.Start
	}
	if j.Channel == "" && s.Attrs["channel"] != "" {
		j.Channel = s.Attrs["channel"]
	}
	if j.MsgID == "" && s.Attrs["msg_id"] != "" {
		j.MsgID = s.Attrs["msg_id"]
		js.byMsg[msgKey(j.Channel, j.MsgID)] = j.ID
	}
}

func msgKey(channel, msgID string) string { return channel + "\x00" + msgID }

// get returns a copy of one journey, spans in start order.
func (js *journeys) get(id string) (journey, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j := js.byID[id]
	if j == nil {
		return journey{}, false
	}
	out := *j
	out.Spans = append([]observe.Span(nil), j.Spans...)
	sort.SliceStable(out.Spans, func(a, b int) bool { return out.Spans[a].Start < out.Spans[b].Start })
	return out, true
}

// byMessage finds the journey of a channel's message by client id.
func (js *journeys) byMessage(channel, msgID string) (journey, bool) {
	js.mu.Lock()
	id, ok := js.byMsg[msgKey(channel, msgID)]
	js.mu.Unlock()
	if !ok {
		return journey{}, false
	}
	return js.get(id)
}

// list returns up to limit journeys, newest first, without spans.
func (js *journeys) list(channel string, limit int) []journey {
	js.mu.Lock()
	defer js.mu.Unlock()
	var out []journey
	for i := len(js.order) - 1; i >= 0 && len(out) < limit; i-- {
		j := js.byID[js.order[i]]
		if channel != "" && j.Channel != channel {
			continue
		}
		out = append(out, journey{ID: j.ID, Channel: j.Channel, MsgID: j.MsgID, Start: j.Start})
	}
	return out
}
