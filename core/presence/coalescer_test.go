package presence

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeCoalescer is a Coalescer driven by a fake clock: the test moves the
// clock and calls tick, as the goroutine would at each deadline.
type fakeCoalescer struct {
	*Coalescer
	now    time.Time
	events []event
}

type event struct {
	at time.Time
	s  State
}

func newFake(window time.Duration) *fakeCoalescer {
	f := &fakeCoalescer{now: t0}
	f.Coalescer = newCoalescer(window, func(s State) {
		f.events = append(f.events, event{f.now, s})
	}, func() time.Time { return f.now })
	return f
}

// advance moves the clock to at, ending windows at their exact deadlines on
// the way, as the goroutine's timer would.
func (f *fakeCoalescer) advance(at time.Time) {
	for {
		next, ok := f.tick(f.now)
		if !ok || next.After(at) {
			break
		}
		f.now = next
	}
	f.now = at
	f.tick(at)
}

func online(u string) State                { return State{User: u, Online: true} }
func offline(u string, at time.Time) State { return State{User: u, LastSeen: at} }

func TestCoalescerFlapInsideWindow(t *testing.T) {
	f := newFake(time.Second)
	f.Observe(online("u"))
	f.advance(t0.Add(100 * time.Millisecond))
	f.Observe(offline("u", f.now))
	f.advance(t0.Add(200 * time.Millisecond))
	f.Observe(online("u"))
	f.advance(t0.Add(10 * time.Second))
	if len(f.events) != 1 || !Equal(f.events[0].s, online("u")) {
		t.Fatalf("events %+v, want only the first online", f.events)
	}
	if len(f.users) != 0 || f.head != len(f.queue) {
		t.Errorf("user not forgotten after a quiet window: %d users, queue %d", len(f.users), len(f.queue)-f.head)
	}
	// The window has closed: the next change is emitted at once.
	f.Observe(offline("u", f.now))
	if len(f.events) != 2 || !f.events[1].at.Equal(f.now) {
		t.Fatalf("change after the window: events %+v", f.events)
	}
}

func TestCoalescerHeldChangeAtWindowEnd(t *testing.T) {
	f := newFake(time.Second)
	f.Observe(online("u"))
	f.advance(t0.Add(300 * time.Millisecond))
	f.Observe(offline("u", f.now))
	f.advance(t0.Add(5 * time.Second))
	want := []event{{t0, online("u")}, {t0.Add(time.Second), offline("u", t0.Add(300*time.Millisecond))}}
	checkEvents(t, f.events, want)
}

// TestCoalescerFlaps flaps one user 100 times in 5 s: a change every 50 ms
// from t0 to t0+4.95 s, alternating online and offline (offline with
// LastSeen = the change time), ending offline. The first change is emitted
// at once; every window end then holds an offline state whose LastSeen
// differs from the last emitted one, so one event per window follows until
// the changes stop: 1 + ⌈4.95 s / window⌉ events, one window apart.
func TestCoalescerFlaps(t *testing.T) {
	const step = 50 * time.Millisecond
	for _, tc := range []struct {
		window time.Duration
		want   int
	}{
		{500 * time.Millisecond, 11}, // 0, 0.5, 1, …, 5 s
		{time.Second, 6},             // 0, 1, 2, 3, 4, 5 s
		{2 * time.Second, 4},         // 0, 2, 4, 6 s
		{5 * time.Second, 2},         // 0, 5 s
		{time.Minute, 2},             // 0, 60 s
	} {
		t.Run(fmt.Sprint(tc.window), func(t *testing.T) {
			f := newFake(tc.window)
			var last State
			for i := range 100 {
				f.advance(t0.Add(time.Duration(i) * step))
				last = online("u")
				if i%2 == 1 {
					last = offline("u", f.now)
				}
				f.Observe(last)
			}
			f.advance(t0.Add(2 * time.Minute))
			span := 99 * step
			bound := 1 + int((span+tc.window-1)/tc.window)
			if len(f.events) != tc.want || tc.want != bound {
				t.Fatalf("%d events (want %d, bound %d): %+v", len(f.events), tc.want, bound, f.events)
			}
			for i := 1; i < len(f.events); i++ {
				if gap := f.events[i].at.Sub(f.events[i-1].at); gap < tc.window {
					t.Errorf("events %d and %d only %v apart", i-1, i, gap)
				}
			}
			if got := f.events[len(f.events)-1].s; !Equal(got, last) {
				t.Errorf("last event %+v, want the final state %+v", got, last)
			}
		})
	}
}

// TestCoalescerUsersIndependent checks that windows are per user and end in
// order with one queue.
func TestCoalescerUsersIndependent(t *testing.T) {
	f := newFake(time.Second)
	f.Observe(online("a"))
	f.advance(t0.Add(400 * time.Millisecond))
	f.Observe(online("b"))
	f.Observe(offline("a", f.now))
	f.advance(t0.Add(600 * time.Millisecond))
	f.Observe(offline("b", f.now))
	f.advance(t0.Add(10 * time.Second))
	checkEvents(t, f.events, []event{
		{t0, online("a")},
		{t0.Add(400 * time.Millisecond), online("b")},
		{t0.Add(time.Second), offline("a", t0.Add(400*time.Millisecond))},
		{t0.Add(1400 * time.Millisecond), offline("b", t0.Add(600*time.Millisecond))},
	})
}

func checkEvents(t *testing.T, got, want []event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range got {
		if !got[i].at.Equal(want[i].at) || !Equal(got[i].s, want[i].s) {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestCoalescerRealClock runs the goroutine: a held change comes out after
// the window, and many users share one goroutine.
func TestCoalescerRealClock(t *testing.T) {
	var mu sync.Mutex
	var got []State
	c := NewCoalescer(20*time.Millisecond, func(s State) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	})
	defer c.Close()
	before := runtime.NumGoroutine()
	const users = 1000
	for i := range users {
		c.Observe(online(fmt.Sprint(i)))
	}
	for i := range users {
		c.Observe(offline(fmt.Sprint(i), t0))
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines grew from %d to %d with %d users", before, n, users)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 2*users {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events after 5s, want %d", n, 2*users)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()
	c.Observe(online("late")) // ignored after Close
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2*users {
		t.Errorf("%d events after Close, want %d", len(got), 2*users)
	}
}

func TestVisible(t *testing.T) {
	seen := t0.Add(time.Hour)
	for _, tc := range []struct{ in, want State }{
		{State{User: "u", Online: true, Status: "hi"}, State{User: "u", Online: true, Status: "hi"}},
		{State{User: "u", LastSeen: seen}, State{User: "u", LastSeen: seen}},
		{State{User: "u", Online: true, Status: "hi", Invisible: true}, State{User: "u", Status: "hi"}},
		{State{User: "u", LastSeen: seen, Invisible: true}, State{User: "u"}},
	} {
		if got := Visible(tc.in); !Equal(got, tc.want) {
			t.Errorf("Visible(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestValid(t *testing.T) {
	long := string(make([]byte, MaxStatusLen+1))
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"status ok", ValidStatus("in a meeting"), nil},
		{"status max", ValidStatus(long[1:]), nil},
		{"status long", ValidStatus(long), ErrStatusTooLong},
		{"status utf8", ValidStatus("\xff"), ErrInvalid},
		{"id empty", ValidID("user", ""), ErrInvalid},
		{"id long", ValidID("user", string(make([]byte, MaxIDLen+1))), ErrInvalid},
		{"id braces", ValidID("user", "{a}b"), nil},
		{"ttl ok", ValidTTL(time.Millisecond), nil},
		{"ttl short", ValidTTL(time.Microsecond), ErrInvalid},
	} {
		if (tc.want == nil) != (tc.err == nil) || (tc.want != nil && !errors.Is(tc.err, tc.want)) {
			t.Errorf("%s: err %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}
