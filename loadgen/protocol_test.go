package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestProtocolRoundTrip(t *testing.T) {
	msgs := []*workerMsg{
		{Type: msgProgress, Worker: 1, counters: counters{Attempted: 10, Opened: 9, Failed: 1}},
		{Type: msgReady, Worker: 1, counters: counters{Attempted: 10, Opened: 9, Failed: 1}, RSSBytes: 1 << 30},
		{Type: msgResult, Worker: 1, counters: counters{Opened: 9, Received: 90, Dropped: 1, Unexpected: 2},
			Result: &workerResult{
				ErrorsByKind: map[string]int64{"dial:refused": 1},
				DropsByKind:  map[string]int64{"close_4004": 1},
				Hists:        map[string]string{"connect_ms": "HISTFAAAA"},
				MsgCount:     []int64{9, 9},
				MsgLast:      []int64{1, 2},
			}},
		{Type: msgFatal, Worker: 2, Error: "boom"},
	}
	var buf bytes.Buffer
	lw := newLineWriter(&buf)
	for _, m := range msgs {
		if err := lw.write(m); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), "\n"); n != len(msgs) {
		t.Fatalf("%d lines for %d messages", n, len(msgs))
	}
	// Counters are flat snake_case keys of the message.
	if !strings.Contains(buf.String(), `"type":"progress","worker":1,"attempted":10,"opened":9,"failed":1`) {
		t.Errorf("unexpected encoding: %s", buf.String())
	}
	var got []*workerMsg
	err := readLines(&buf, func(m *workerMsg) error { got = append(got, m); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, msgs) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, msgs)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	cfg := &workerConfig{Worker: 3, Scenario: ScenarioFanout, URL: "ws://127.0.0.1:7000/v1/ws", Conns: 15000,
		FirstUser: 45000, Rate: 666.5, SourceAddrs: []string{"127.0.0.2", "127.0.0.3"}, Secret: strings.Repeat("ab", 32),
		TokenTTLMs: 3600000, Subprotocol: "salam.v1", ConnectTimeout: 10000, Channel: "loadgen", Messages: 20, RunID: 99}
	var buf bytes.Buffer
	if err := newLineWriter(&buf).write(cfg); err != nil {
		t.Fatal(err)
	}
	var got workerConfig
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil || !reflect.DeepEqual(&got, cfg) {
		t.Errorf("config round trip: %+v, %v", got, err)
	}
	var cmd command
	buf.Reset()
	newLineWriter(&buf).write(&command{Cmd: cmdClose})
	if err := json.Unmarshal(buf.Bytes(), &cmd); err != nil || cmd.Cmd != cmdClose || buf.String() != "{\"cmd\":\"close\"}\n" {
		t.Errorf("command encoding %q", buf.String())
	}
}

func TestReadLinesErrors(t *testing.T) {
	err := readLines(strings.NewReader("{\"type\":\"progress\"}\nnot json\n"), func(*workerMsg) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "bad protocol line") {
		t.Errorf("bad line: %v", err)
	}
	stop := errors.New("stop")
	n := 0
	err = readLines(strings.NewReader("{}\n\n{}\n{}\n"), func(*workerMsg) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("callback error: %v after %d lines", err, n)
	}
	// A result line far larger than bufio's default token size.
	big := &workerMsg{Type: msgResult, Result: &workerResult{MsgCount: make([]int64, 200_000)}}
	var buf bytes.Buffer
	newLineWriter(&buf).write(big)
	var got *workerMsg
	if err := readLines(io.MultiReader(&buf), func(m *workerMsg) error { got = m; return nil }); err != nil || len(got.Result.MsgCount) != 200_000 {
		t.Errorf("large line: %v", err)
	}
}
