package presencetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/salamhq/salam/core/presence"
)

// Opener returns a fresh, empty store and arranges its cleanup with
// t.Cleanup.
type Opener func(t *testing.T) presence.Store

// t0 is the suite's clock origin, far from the real clock: stores must use
// the times they are given.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const ttl = 30 * time.Second

func at(d time.Duration) time.Time { return t0.Add(d) }

// Run runs the contract suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	t.Run("Online", func(t *testing.T) { testOnline(t, open) })
	t.Run("CameOnlineOnlyOnTransition", func(t *testing.T) { testCameOnline(t, open) })
	t.Run("MultiDevice", func(t *testing.T) { testMultiDevice(t, open) })
	t.Run("LeaveNotHeld", func(t *testing.T) { testLeaveNotHeld(t, open) })
	t.Run("LeaveDropsExpiredEdges", func(t *testing.T) { testLeaveDropsExpired(t, open) })
	t.Run("Expire", func(t *testing.T) { testExpire(t, open) })
	t.Run("ExpireConcurrent", func(t *testing.T) { testExpireConcurrent(t, open) })
	t.Run("ExpireLimit", func(t *testing.T) { testExpireLimit(t, open) })
	t.Run("RefreshPostponesExpiry", func(t *testing.T) { testRefresh(t, open) })
	t.Run("ExpireWaitsForEveryEdge", func(t *testing.T) { testExpireEveryEdge(t, open) })
	t.Run("ShorterTTLReplaces", func(t *testing.T) { testShorterTTL(t, open) })
	t.Run("BackAfterExpire", func(t *testing.T) { testBackAfterExpire(t, open) })
	t.Run("BeatBeforeExpireRuns", func(t *testing.T) { testBeatBeforeExpire(t, open) })
	t.Run("Get", func(t *testing.T) { testGet(t, open) })
	t.Run("Status", func(t *testing.T) { testStatus(t, open) })
	t.Run("Invalid", func(t *testing.T) { testInvalid(t, open) })
	t.Run("LargeBeat", func(t *testing.T) { testLargeBeat(t, open) })
	t.Run("ConcurrentTransitions", func(t *testing.T) { testConcurrentTransitions(t, open) })
}

// fixture wraps a store with fatal-on-error helpers.
type fixture struct {
	t   *testing.T
	s   presence.Store
	ctx context.Context
}

func setup(t *testing.T, open Opener) *fixture {
	t.Helper()
	return &fixture{t: t, s: open(t), ctx: context.Background()}
}

func (f *fixture) beat(edge string, d time.Duration, users ...string) []string {
	f.t.Helper()
	came, err := f.s.Beat(f.ctx, edge, users, ttl, at(d))
	if err != nil {
		f.t.Fatalf("Beat(%s, %v, %v): %v", edge, users, d, err)
	}
	return came
}

func (f *fixture) leave(edge string, d time.Duration, users ...string) []string {
	f.t.Helper()
	went, err := f.s.Leave(f.ctx, edge, users, at(d))
	if err != nil {
		f.t.Fatalf("Leave(%s, %v, %v): %v", edge, users, d, err)
	}
	return went
}

func (f *fixture) expire(d time.Duration, limit int) []presence.State {
	f.t.Helper()
	got, err := f.s.Expire(f.ctx, at(d), limit)
	if err != nil {
		f.t.Fatalf("Expire(%v, %d): %v", d, limit, err)
	}
	return got
}

func (f *fixture) get(users ...string) []presence.State {
	f.t.Helper()
	got, err := f.s.Get(f.ctx, users)
	if err != nil {
		f.t.Fatalf("Get(%v): %v", users, err)
	}
	if len(got) != len(users) {
		f.t.Fatalf("Get(%v) returned %d states", users, len(got))
	}
	return got
}

// want checks one user's state from Get.
func (f *fixture) want(what string, s presence.State) {
	f.t.Helper()
	checkState(f.t, what, f.get(s.User)[0], s)
}

func checkState(t *testing.T, what string, got, want presence.State) {
	t.Helper()
	if !presence.Equal(got, want) {
		t.Errorf("%s: state %+v, want %+v", what, got, want)
	}
}

func checkUsers(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func online(u string) presence.State { return presence.State{User: u, Online: true} }
func offline(u string, d time.Duration) presence.State {
	return presence.State{User: u, LastSeen: at(d)}
}

func testOnline(t *testing.T, open Opener) {
	f := setup(t, open)
	f.want("before any beat", presence.State{User: "alice"})
	checkUsers(t, "first Beat", f.beat("e1", 0, "alice"), "alice")
	f.want("after Beat", online("alice"))
	checkUsers(t, "Leave", f.leave("e1", 5*time.Second, "alice"), "alice")
	f.want("after Leave", offline("alice", 5*time.Second))
}

func testCameOnline(t *testing.T, open Opener) {
	f := setup(t, open)
	checkUsers(t, "first Beat", f.beat("e1", 0, "a"), "a")
	checkUsers(t, "same edge again", f.beat("e1", 10*time.Second, "a"))
	checkUsers(t, "second edge", f.beat("e2", 11*time.Second, "a"))
	checkUsers(t, "mixed batch keeps order", f.beat("e1", 12*time.Second, "c", "a", "b"), "c", "b")
	checkUsers(t, "duplicate in one batch", f.beat("e1", 13*time.Second, "d", "d"), "d")
	checkUsers(t, "empty batch", f.beat("e1", 14*time.Second))
}

func testMultiDevice(t *testing.T, open Opener) {
	f := setup(t, open)
	checkUsers(t, "Beat e1", f.beat("e1", 0, "u"), "u")
	checkUsers(t, "Beat e2", f.beat("e2", time.Second, "u"))
	checkUsers(t, "Leave e1", f.leave("e1", 2*time.Second, "u"))
	f.want("after Leave e1, e2 holds", online("u"))
	checkUsers(t, "Leave e2", f.leave("e2", 3*time.Second+7*time.Millisecond, "u"), "u")
	f.want("after the last Leave", offline("u", 3*time.Second+7*time.Millisecond))
	checkUsers(t, "Leave e2 again", f.leave("e2", 4*time.Second, "u"))
	f.want("Leave again changes nothing", offline("u", 3*time.Second+7*time.Millisecond))
}

func testLeaveNotHeld(t *testing.T, open Opener) {
	f := setup(t, open)
	f.beat("e1", 0, "u")
	checkUsers(t, "Leave by an edge that never held u", f.leave("e2", time.Second, "u"))
	f.want("still online", online("u"))
	checkUsers(t, "Leave of an unknown user", f.leave("e1", time.Second, "nobody"))
	f.want("unknown stays unknown", presence.State{User: "nobody"})
	checkUsers(t, "empty Leave", f.leave("e1", time.Second))
}

// Reading: Leave drops other edges' entries that expired by at, so the user
// goes offline at at even though Expire has not reported the crashed edge.
func testLeaveDropsExpired(t *testing.T, open Opener) {
	f := setup(t, open)
	f.beat("crashed", 0, "u") // expires at 30 s
	f.beat("e2", 0, "u")
	f.beat("e2", 20*time.Second, "u")
	f.beat("e2", 40*time.Second, "u") // expires at 70 s
	if got := f.expire(60*time.Second, 100); len(got) != 0 {
		t.Errorf("Expire while e2 beats = %+v, want none", got)
	}
	checkUsers(t, "Leave e2 after crashed expired", f.leave("e2", 65*time.Second, "u"), "u")
	f.want("offline at the Leave", offline("u", 65*time.Second))
	if got := f.expire(100*time.Second, 100); len(got) != 0 {
		t.Errorf("Expire after Leave = %+v, want none", got)
	}
}

func testExpire(t *testing.T, open Opener) {
	f := setup(t, open)
	f.beat("e1", 0, "u")
	if got := f.expire(ttl-time.Millisecond, 100); len(got) != 0 {
		t.Fatalf("Expire 1ms before expiry = %+v, want none", got)
	}
	f.want("online until Expire reports", online("u"))
	got := f.expire(ttl, 100) // expiry ≤ now: expired
	if len(got) != 1 {
		t.Fatalf("Expire at expiry = %+v, want u", got)
	}
	checkState(t, "Expire result", got[0], offline("u", ttl))
	f.want("after Expire", offline("u", ttl))
	if got := f.expire(2*ttl, 100); len(got) != 0 {
		t.Errorf("second Expire = %+v, want none", got)
	}
	checkUsers(t, "Leave after Expire", f.leave("e1", 2*ttl, "u"))
	f.want("Leave after Expire keeps LastSeen", offline("u", ttl))
}

func testExpireConcurrent(t *testing.T, open Opener) {
	f := setup(t, open)
	const n = 500
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("user-%03d", i)
	}
	f.beat("e1", 0, users...)
	var (
		mu   sync.Mutex
		seen = make(map[string]int)
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for range 1000 { // bounded: 500 users at ≥ 1 per productive call
				got, err := f.s.Expire(f.ctx, at(time.Minute), 37)
				if err != nil {
					t.Errorf("Expire: %v", err)
					return
				}
				mu.Lock()
				for _, s := range got {
					seen[s.User]++
					if !presence.Equal(s, offline(s.User, ttl)) {
						t.Errorf("Expire returned %+v, want offline at %v", s, at(ttl))
					}
				}
				done := len(seen) == n
				mu.Unlock()
				if done {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d of %d users expired", len(seen), n)
	}
	for u, c := range seen {
		if c != 1 {
			t.Errorf("%s returned %d times", u, c)
		}
	}
	for _, s := range f.get(users...) {
		checkState(t, "after concurrent Expire", s, offline(s.User, ttl))
	}
}

func testExpireLimit(t *testing.T, open Opener) {
	f := setup(t, open)
	f.beat("e1", 0, "a", "b", "c", "d", "e", "f", "g")
	var all []string
	for i := 0; i < 10 && len(all) < 7; i++ {
		got := f.expire(time.Hour, 3)
		if len(got) > 3 {
			t.Fatalf("Expire(limit 3) returned %d", len(got))
		}
		for _, s := range got {
			all = append(all, s.User)
		}
	}
	sort.Strings(all)
	checkUsers(t, "users expired over several calls", all, "a", "b", "c", "d", "e", "f", "g")
}

func testRefresh(t *testing.T, open Opener) {
	f := setup(t, open)
	f.beat("e1", 0, "u")
	f.beat("e1", 20*time.Second, "u") // now expires at 50 s
	if got := f.expire(35*time.Second, 100); len(got) != 0 {
		t.Errorf("Expire after the first expiry = %+v, want none (refreshed)", got)
	}
	got := f.expire(50*time.Second, 100)
	if len(got) != 1 {
		t.Fatalf("Expire at the refreshed expiry = %+v, want u", got)
	}
	checkState(t, "Expire result", got[0], offline("u", 50*time.Second))
}

func testExpireEveryEdge(t *testing.T, open Opener) {
	f := setup(t, open)
	f.beat("e1", 0, "u")                 // expires at 30 s
	f.beat("e2", 10*time.Second, "u")    // expires at 40 s
	f.beat("e3", 5*time.Second, "v")     // v: one edge, expires at 35 s
	got := f.expire(35*time.Second, 100) // e1 and v expired, e2 live
	if len(got) != 1 || got[0].User != "v" {
		t.Fatalf("Expire at 35 s = %+v, want only v", got)
	}
	f.want("u held by e2", online("u"))
	got = f.expire(40*time.Second, 100)
	if len(got) != 1 {
		t.Fatalf("Expire at 40 s = %+v, want u", got)
	}
	checkState(t, "LastSeen is the latest expiry", got[0], offline("u", 40*time.Second))
}

// Reading: an edge's entry is replaced by its latest beat, even when that
// beat's ttl ends sooner than the previous one.
func testShorterTTL(t *testing.T, open Opener) {
	f := setup(t, open)
	if _, err := f.s.Beat(f.ctx, "e1", []string{"u"}, time.Minute, at(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Beat(f.ctx, "e1", []string{"u"}, 10*time.Second, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	got := f.expire(20*time.Second, 100)
	if len(got) != 1 {
		t.Fatalf("Expire at 20 s = %+v, want u (last beat expired at 11 s)", got)
	}
	checkState(t, "Expire result", got[0], offline("u", 11*time.Second))
}

func testBackAfterExpire(t *testing.T, open Opener) {
	f := setup(t, open)
	f.beat("e1", 0, "u")
	if got := f.expire(time.Minute, 100); len(got) != 1 {
		t.Fatalf("Expire = %+v, want u", got)
	}
	checkUsers(t, "Beat after Expire", f.beat("e1", 2*time.Minute, "u"), "u")
	f.want("back online", online("u"))
	if got := f.expire(2*time.Minute+ttl-time.Millisecond, 100); len(got) != 0 {
		t.Errorf("Expire before the new expiry = %+v, want none", got)
	}
	got := f.expire(3*time.Minute, 100)
	if len(got) != 1 {
		t.Fatalf("second Expire = %+v, want u", got)
	}
	checkState(t, "second Expire result", got[0], offline("u", 2*time.Minute+ttl))
}

// Reading: state changes only through Beat, Leave and Expire. A user whose
// entries all expired is online until Expire reports them, so a Beat before
// that is no transition and Expire then finds nothing.
func testBeatBeforeExpire(t *testing.T, open Opener) {
	f := setup(t, open)
	f.beat("e1", 0, "u")
	checkUsers(t, "Beat after expiry, before Expire", f.beat("e2", 45*time.Second, "u"))
	if got := f.expire(50*time.Second, 100); len(got) != 0 {
		t.Errorf("Expire = %+v, want none (e2 live)", got)
	}
	f.want("online", online("u"))
}

func testGet(t *testing.T, open Opener) {
	f := setup(t, open)
	f.beat("e1", 0, "a", "c")
	f.leave("e1", time.Second, "c")
	got := f.get("c", "unknown", "a", "c")
	want := []presence.State{offline("c", time.Second), {User: "unknown"}, online("a"), offline("c", time.Second)}
	for i := range want {
		checkState(t, fmt.Sprintf("Get[%d]", i), got[i], want[i])
	}
	if got := f.get(); len(got) != 0 {
		t.Errorf("Get() = %+v, want empty", got)
	}
}

func testStatus(t *testing.T, open Opener) {
	f := setup(t, open)
	set := func(user, status string, invisible bool) {
		t.Helper()
		if err := f.s.SetStatus(f.ctx, user, status, invisible); err != nil {
			t.Fatalf("SetStatus(%s, %q, %v): %v", user, status, invisible, err)
		}
	}
	set("u", "in a meeting 📅", false)
	f.want("status of a never-seen user", presence.State{User: "u", Status: "in a meeting 📅"})
	checkUsers(t, "Beat", f.beat("e1", 0, "u"), "u")
	f.want("status kept online", presence.State{User: "u", Online: true, Status: "in a meeting 📅"})
	set("u", "busy", true)
	f.want("invisible is raw in Get", presence.State{User: "u", Online: true, Status: "busy", Invisible: true})
	got := f.expire(time.Hour, 10)
	if len(got) != 1 {
		t.Fatalf("Expire = %+v", got)
	}
	checkState(t, "Expire carries status", got[0], presence.State{User: "u", LastSeen: at(ttl), Status: "busy", Invisible: true})
	f.beat("e1", 2*time.Hour, "u")
	f.want("status survives offline and back", presence.State{User: "u", Online: true, Status: "busy", Invisible: true})
	set("u", "", false)
	f.want("cleared", online("u"))

	long := string(make([]byte, presence.MaxStatusLen+1))
	if err := f.s.SetStatus(f.ctx, "u", long, false); !errors.Is(err, presence.ErrStatusTooLong) {
		t.Errorf("SetStatus(257 bytes) = %v, want ErrStatusTooLong", err)
	}
	set("u", long[1:], false)
	if err := f.s.SetStatus(f.ctx, "u", "\xff", false); !errors.Is(err, presence.ErrInvalid) {
		t.Errorf("SetStatus(invalid UTF-8) = %v, want ErrInvalid", err)
	}
	f.want("failed SetStatus changes nothing", presence.State{User: "u", Online: true, Status: long[1:]})
}

func testInvalid(t *testing.T, open Opener) {
	f := setup(t, open)
	ctx, now := f.ctx, at(0)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Beat empty edge", second(f.s.Beat(ctx, "", []string{"a"}, ttl, now))},
		{"Beat empty user", second(f.s.Beat(ctx, "e1", []string{"a", ""}, ttl, now))},
		{"Beat zero ttl", second(f.s.Beat(ctx, "e1", []string{"a"}, 0, now))},
		{"Leave empty edge", second(f.s.Leave(ctx, "", []string{"a"}, now))},
		{"Leave empty user", second(f.s.Leave(ctx, "e1", []string{""}, now))},
		{"Expire limit 0", second(f.s.Expire(ctx, now, 0))},
		{"Get empty user", second(f.s.Get(ctx, []string{"a", ""}))},
		{"SetStatus empty user", f.s.SetStatus(ctx, "", "x", false)},
	} {
		if !errors.Is(tc.err, presence.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, tc.err)
		}
	}
	f.want("a failed Beat writes nothing", presence.State{User: "a"})
}

func second[T any](_ T, err error) error { return err }

func testLargeBeat(t *testing.T, open Opener) {
	f := setup(t, open)
	const n = 10_000
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("u%05d", i)
	}
	checkUsers(t, "first Beat of 10,000", f.beat("e1", 0, users...), users...)
	checkUsers(t, "second Beat of 10,000", f.beat("e1", 10*time.Second, users...))
	for _, s := range f.get(users[0], users[n/2], users[n-1]) {
		checkState(t, "after large Beat", s, online(s.User))
	}
	checkUsers(t, "Leave of 10,000", f.leave("e1", 20*time.Second, users...), users...)
}

// testConcurrentTransitions runs four edges (each issuing its own calls in
// order, as the contract asks) and two Expire loops at once over a few
// users, with short ttls so entries expire all the time. Every transition
// is returned exactly once, so for each user the onlines returned minus
// the offlines returned is 1 if the user ends online and 0 otherwise.
func testConcurrentTransitions(t *testing.T, open Opener) {
	f := setup(t, open)
	const (
		users = 40
		edges = 4
		steps = 150
		short = 3 * time.Second
	)
	name := func(i int) string { return fmt.Sprintf("c%02d", i) }
	var clock atomic.Int64 // store time, in ms after t0; every call advances it
	now := func() time.Time { return at(time.Duration(clock.Add(7)) * time.Millisecond) }
	// Only totals are checked: two goroutines may record their returns in
	// the other order than the store made the transitions.
	var (
		mu  sync.Mutex
		net = make(map[string]int)
	)
	var onlines, offlines atomic.Int64
	record := func(us []string, d int) {
		if d > 0 {
			onlines.Add(int64(len(us)))
		} else {
			offlines.Add(int64(len(us)))
		}
		mu.Lock()
		for _, u := range us {
			net[u] += d
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for e := range edges {
		wg.Go(func() {
			edge := fmt.Sprintf("edge-%d", e)
			for step := range steps {
				// A pseudo-random batch: users whose number mixes with step.
				var batch []string
				for u := range users {
					if (u*7+step*13+e*5)%5 < 2 {
						batch = append(batch, name(u))
					}
				}
				if step%3 == 2 {
					went, err := f.s.Leave(f.ctx, edge, batch, now())
					if err != nil {
						t.Errorf("Leave: %v", err)
						return
					}
					record(went, -1)
					continue
				}
				came, err := f.s.Beat(f.ctx, edge, batch, short, now())
				if err != nil {
					t.Errorf("Beat: %v", err)
					return
				}
				record(came, +1)
			}
		})
	}
	stop := make(chan struct{})
	var expirers sync.WaitGroup
	for range 2 {
		expirers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := f.s.Expire(f.ctx, now(), 16)
				if err != nil {
					t.Errorf("Expire: %v", err)
					return
				}
				us := make([]string, len(got))
				for i, s := range got {
					us[i] = s.User
				}
				record(us, -1)
			}
		})
	}
	wg.Wait()
	close(stop)
	expirers.Wait()
	t.Logf("%d onlines, %d offlines returned", onlines.Load(), offlines.Load())
	all := make([]string, users)
	for i := range all {
		all[i] = name(i)
	}
	for _, s := range f.get(all...) {
		want := 0
		if s.Online {
			want = 1
		}
		if net[s.User] != want {
			t.Errorf("%s: online %v but %d net transitions returned", s.User, s.Online, net[s.User])
		}
	}
	// Expiring everything afterwards keeps the books balanced.
	for _, s := range f.expire(time.Duration(clock.Load())*time.Millisecond+time.Hour, 1000) {
		net[s.User]--
	}
	for u, n := range net {
		if n != 0 {
			t.Errorf("%s: %d net transitions after expiring everyone", u, n)
		}
	}
}
