package loadgen

import (
	"math"
	"testing"
	"time"
)

func TestQuantiles(t *testing.T) {
	h := newHist()
	for v := 1; v <= 1000; v++ {
		recordDuration(h, time.Duration(v)*time.Millisecond) // 1..1000 ms
	}
	q := quantilesOf(h)
	// HDR at 3 significant digits is within 0.1%.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{name: "p50", got: q.P50, want: 500},
		{name: "p90", got: q.P90, want: 900},
		{name: "p99", got: q.P99, want: 990},
		{name: "p999", got: q.P999, want: 999},
		{name: "max", got: q.Max, want: 1000},
	} {
		if math.Abs(c.got-c.want) > c.want*0.001+0.001 {
			t.Errorf("%s = %v ms, want %v", c.name, c.got, c.want)
		}
	}
	if q.Count != 1000 {
		t.Errorf("count = %d", q.Count)
	}
	if got := quantilesOf(newHist()); got != (Quantiles{}) {
		t.Errorf("empty histogram gives %+v", got)
	}
}

func TestRecordDurationClamps(t *testing.T) {
	h := newHist()
	recordDuration(h, -5*time.Millisecond) // clocks disagree
	recordDuration(h, time.Hour)           // beyond the range
	if h.TotalCount() != 2 {
		t.Fatalf("recorded %d values, want 2", h.TotalCount())
	}
	if q := quantilesOf(h); q.Max < 599_000 {
		t.Errorf("max = %v ms, want the range's top (10 min)", q.Max)
	}
}

func TestHistEncodeMerge(t *testing.T) {
	a, b := newHist(), newHist()
	for i := range 100 {
		recordDuration(a, time.Duration(i+1)*time.Millisecond)
		recordDuration(b, time.Duration(i+101)*time.Millisecond)
	}
	sa, err := encodeHist(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := encodeHist(b)
	all := newHist()
	for _, s := range []string{sa, sb, ""} {
		if err := mergeEncoded(all, s); err != nil {
			t.Fatal(err)
		}
	}
	q := quantilesOf(all)
	if q.Count != 200 || math.Abs(q.P50-100) > 0.2 || math.Abs(q.Max-200) > 0.2 {
		t.Errorf("merged = %+v", q)
	}
	if err := mergeEncoded(all, "not a histogram"); err == nil {
		t.Error("garbage merged without error")
	}
}

func TestDeliveryMath(t *testing.T) {
	tests := []struct {
		name                     string
		expected, received, lost int64
	}{
		{name: "all", expected: 200, received: 200, lost: 0},
		{name: "some lost", expected: 200, received: 150, lost: 50},
		{name: "more than expected", expected: 200, received: 210, lost: 0},
		{name: "nothing", expected: 0, received: 0, lost: 0},
	}
	for _, tt := range tests {
		if got := lost(tt.expected, tt.received); got != tt.lost {
			t.Errorf("%s: lost(%d, %d) = %d, want %d", tt.name, tt.expected, tt.received, got, tt.lost)
		}
	}

	ms := int64(time.Millisecond)
	sent := []int64{1000 * ms, 2000 * ms, 0, 4000 * ms}
	last := []int64{1010 * ms, 0, 3000 * ms, 4050 * ms}
	got := lastReceipts(sent, last)
	want := []time.Duration{10 * time.Millisecond, 50 * time.Millisecond}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("lastReceipts = %v, want %v (unsent and unreceived messages skipped)", got, want)
	}

	if got := rssPerConn(100<<20, 150<<20, 10_000); got != (50<<20)/10_000 {
		t.Errorf("rssPerConn = %d", got)
	}
	if got := rssPerConn(100<<20, 150<<20, 0); got != 0 {
		t.Errorf("rssPerConn with no connections = %d", got)
	}
	if got := rssPerConn(0, 150<<20, 10); got != 0 {
		t.Errorf("rssPerConn without a before sample = %d", got)
	}
}

func TestPayload(t *testing.T) {
	p := make([]byte, 64)
	putPayload(p, 1_700_000_000_123_456_789, 7, 42)
	sent, idx, run, ok := parsePayload(p)
	if !ok || sent != 1_700_000_000_123_456_789 || idx != 7 || run != 42 {
		t.Errorf("parsePayload = %d %d %d %v", sent, idx, run, ok)
	}
	if _, _, _, ok := parsePayload(p[:payloadHeader-1]); ok {
		t.Error("short payload parsed")
	}
}
