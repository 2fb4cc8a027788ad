package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

func TestParseSourceAddrs(t *testing.T) {
	got, err := ParseSourceAddrs("127.0.0.2-127.0.0.65")
	if err != nil || len(got) != 64 || got[0] != "127.0.0.2" || got[63] != "127.0.0.65" {
		t.Fatalf("range: %d addrs %v, %v", len(got), got, err)
	}
	got, err = ParseSourceAddrs("127.0.0.9, 127.0.0.255-127.0.1.1")
	if err != nil || strings.Join(got, ",") != "127.0.0.9,127.0.0.255,127.0.1.0,127.0.1.1" {
		t.Fatalf("list: %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "127.0.0.5-127.0.0.2", "::1", "127.0.0.1-::2"} {
		if _, err := ParseSourceAddrs(bad); err == nil {
			t.Errorf("ParseSourceAddrs(%q) succeeded", bad)
		}
	}
}

func TestSplit(t *testing.T) {
	addrs, _ := ParseSourceAddrs("127.0.0.2-127.0.0.65")
	for _, n := range []int{1, 2, 3, 7, 13, 64} {
		seen := map[string]int{}
		total, next := 0, 0
		for w := range n {
			for _, a := range splitAddrs(addrs, w, n) {
				seen[a]++
			}
			first, count := splitCount(190_000, w, n)
			if first != next {
				t.Errorf("n=%d worker %d starts at %d, want %d", n, w, first, next)
			}
			next = first + count
			total += count
		}
		if len(seen) != 64 {
			t.Errorf("n=%d: %d addresses used, want 64", n, len(seen))
		}
		for a, c := range seen {
			if c != 1 {
				t.Errorf("n=%d: %s given to %d workers", n, a, c)
			}
		}
		if total != 190_000 {
			t.Errorf("n=%d: %d connections assigned", n, total)
		}
	}
	// Fewer addresses than workers: each worker still gets one.
	for w := range 5 {
		if got := splitAddrs(addrs[:2], w, 5); len(got) != 1 {
			t.Errorf("worker %d got %v", w, got)
		}
	}
}

func TestOptionsDefaultsAndValidate(t *testing.T) {
	o := Options{Scenario: ScenarioIdle, URL: "ws://127.0.0.1:7000/v1/ws", Conns: 30001}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.Workers != 3 || o.Rate != 2000 || len(o.SourceAddrs) != 64 || o.Hold == 0 || o.Subprotocol != wire.SubprotocolMsgpack {
		t.Errorf("defaults: %+v", o)
	}
	tests := []struct {
		field string
		mod   func(*Options)
	}{
		{field: "scenario", mod: func(o *Options) { o.Scenario = "storm" }},
		{field: "conns", mod: func(o *Options) { o.Conns = 0 }},
		{field: "workers", mod: func(o *Options) { o.Workers = o.Conns + 1 }},
		{field: "url", mod: func(o *Options) { o.URL = "http://x/v1/ws" }},
		{field: "payload", mod: func(o *Options) { o.PayloadSize = 8 }},
		{field: "channel", mod: func(o *Options) { o.Channel = "a.b" }},
		{field: "source addr", mod: func(o *Options) { o.SourceAddrs = []string{"nope"} }},
		{field: "secret", mod: func(o *Options) { o.Secret = "short" }},
		{field: "exclusive", mod: func(o *Options) { o.Token, o.Secret = "t", strings.Repeat("s", 32) }},
		{field: "subprotocol", mod: func(o *Options) { o.Subprotocol = "v2" }},
	}
	for _, tt := range tests {
		bad := o
		tt.mod(&bad)
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: Validate = %v", tt.field, err)
		}
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{err: phaseError{"dial", &wsclient.HandshakeError{Status: 401}}, want: "dial:http_401"},
		{err: phaseError{"dial", fmt.Errorf("x: %w", syscall.ECONNREFUSED)}, want: "dial:refused"},
		{err: phaseError{"dial", fmt.Errorf("x: %w", syscall.EADDRNOTAVAIL)}, want: "dial:addr_not_avail"},
		{err: phaseError{"connect", &wire.Error{Code: wire.CodeRateLimited}}, want: "connect:wire_rate_limited"},
		{err: phaseError{"subscribe", fmt.Errorf("w: %w", context.DeadlineExceeded)}, want: "subscribe:timeout"},
		{err: &wsclient.CloseError{Code: 4004}, want: "close_4004"},
		{err: fmt.Errorf("read: %w", syscall.ECONNRESET), want: "reset"},
		{err: errors.New("mystery"), want: "other"},
	}
	for _, tt := range tests {
		if got := errorKind(tt.err); got != tt.want {
			t.Errorf("errorKind(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestRoomOptions(t *testing.T) {
	secret := strings.Repeat("s", 32)
	o := Options{Scenario: ScenarioChat, URL: "ws://127.0.0.1:7000/v1/ws", Conns: 30, Secret: secret}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.RoomSize != 10 || o.Workers != 1 || o.PublishRate != 2 || o.Hold != 10*time.Second || o.Drain != 10*time.Second {
		t.Errorf("chat defaults: %+v", o)
	}
	dm := Options{Scenario: ScenarioDM, URL: o.URL, Conns: 4, RoomSize: 7, Secret: secret, Interval: 250 * time.Millisecond}
	dm.EnsureDefaults()
	if dm.RoomSize != 2 || dm.PublishRate != 4 || dm.Validate() != nil {
		t.Errorf("dm: pairs of 2 at 1/interval, got room %d rate %v (%v)", dm.RoomSize, dm.PublishRate, dm.Validate())
	}
	// Workers never outnumber rooms: a room lives in one worker.
	big := Options{Scenario: ScenarioPresence, URL: o.URL, Conns: 40_000, RoomSize: 20_000, Secret: secret}
	big.EnsureDefaults()
	if big.Workers != 2 || big.Percent != 5 {
		t.Errorf("presence: %d workers for 2 rooms, percent %v", big.Workers, big.Percent)
	}
	rc := Options{Scenario: ScenarioReconnect}
	rc.EnsureDefaults()
	if rc.Percent != 10 {
		t.Errorf("reconnect percent %v, want 10", rc.Percent)
	}
	tests := []struct {
		field string
		mod   func(*Options)
	}{
		{field: "multiple of the room size", mod: func(o *Options) { o.Conns = 25 }},
		{field: "room size", mod: func(o *Options) { o.RoomSize, o.Conns = 1, 30 }},
		{field: "one per room", mod: func(o *Options) { o.Workers = 4 }},
		{field: "needs a secret", mod: func(o *Options) { o.Secret, o.Token = "", "t" }},
		{field: "percent", mod: func(o *Options) { o.Percent = 150 }},
		{field: "publish rate", mod: func(o *Options) { o.PublishRate = -1 }},
	}
	for _, tt := range tests {
		bad := o
		tt.mod(&bad)
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: Validate = %v", tt.field, err)
		}
	}
	if names := strings.Join(Scenarios(), ","); names != "broadcast,chat,dm,fanout,idle,presence,reconnect" {
		t.Errorf("Scenarios() = %s", names)
	}
}

func TestStatusLine(t *testing.T) {
	tests := []struct {
		sm   Sample
		p99  float64
		want string
	}{
		{sm: Sample{T: 3, Connections: 980, ConnectErrors: 2, Dropped: 1}, want: "conns 980/1000  err 2  drop 1  3s"},
		{sm: Sample{T: 12, Connections: 1000, Sent: 120, Acked: 118, Received: 1062, PublishErrors: 2}, p99: 12.34,
			want: "conns 1000/1000  err 0  drop 0  sent 120  acked 118  recv 1062  pub_err 2  delivery p99 12.3 ms  12s"},
		{sm: Sample{T: 5, Connections: 1000, Presence: 340}, p99: 210, want: "conns 1000/1000  err 0  drop 0  presence 340  delivery p99 210.0 ms  5s"},
	}
	for _, tt := range tests {
		if got := statusLine(tt.sm, 1000, "delivery_ms", tt.p99); got != tt.want {
			t.Errorf("statusLine = %q\n want %q", got, tt.want)
		}
	}
}
