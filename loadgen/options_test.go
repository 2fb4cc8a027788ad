package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

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
