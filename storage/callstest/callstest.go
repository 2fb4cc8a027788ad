// Package callstest is the contract suite of calls.Store: every
// implementation (storage/sqlite, storage/postgres) runs it, so that
// core/calls records history the same way on each. It is the executable
// reading of the doc comments in core/calls/store.go.
//
// It must not depend on an implementation or run subtests in parallel.
package callstest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/salamhq/salam/core/calls"
)

// Run runs the suite; open returns a fresh, empty store for one test and
// arranges for its Close.
func Run(t *testing.T, open func(t *testing.T) calls.Store) {
	t.Run("CreateAndRead", func(t *testing.T) { testCreate(t, open(t)) })
	t.Run("JoinLeave", func(t *testing.T) { testJoinLeave(t, open(t)) })
	t.Run("End", func(t *testing.T) { testEnd(t, open(t)) })
	t.Run("ChannelPages", func(t *testing.T) { testPages(t, open(t)) })
	t.Run("Active", func(t *testing.T) { testActive(t, open(t)) })
}

// base is not UTC and finer than a microsecond: stores must normalise it.
var base = time.Date(2026, time.January, 1, 9, 30, 0, 123456789, time.FixedZone("AST", 3*60*60))

func norm(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

func newCall(id, channel, caller string, at time.Time) calls.Call {
	return calls.Call{ID: id, Channel: channel, Caller: caller, Node: "n1", CreatedAt: at,
		Participants: []calls.Participant{{User: caller, JoinedAt: at}}}
}

func create(t *testing.T, s calls.Store, c calls.Call) {
	t.Helper()
	if err := s.CreateCall(t.Context(), c); err != nil {
		t.Fatalf("CreateCall(%s): %v", c.ID, err)
	}
}

func get(t *testing.T, s calls.Store, id string) calls.Call {
	t.Helper()
	c, err := s.Call(t.Context(), id)
	if err != nil {
		t.Fatalf("Call(%s): %v", id, err)
	}
	return c
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func describe(c calls.Call) string {
	s := fmt.Sprintf("%s %s caller=%s node=%s sfu=%v created=%v answered=%v ended=%v reason=%q [",
		c.ID, c.Channel, c.Caller, c.Node, c.SFU, c.CreatedAt, c.AnsweredAt, c.EndedAt, c.EndReason)
	for _, p := range c.Participants {
		s += fmt.Sprintf(" %s %v–%v", p.User, p.JoinedAt, p.LeftAt)
	}
	return s + " ]"
}

func testCreate(t *testing.T, s calls.Store) {
	ctx := t.Context()
	c := newCall("n1-a", "dm:ab", "alice", base)
	create(t, s, c)
	got := get(t, s, "n1-a")
	want := c
	want.CreatedAt, want.Participants[0].JoinedAt = norm(base), norm(base)
	if describe(got) != describe(want) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("read back\n got %s\nwant %s", describe(got), describe(want))
	}
	if err := s.CreateCall(ctx, c); !errors.Is(err, calls.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	if _, err := s.Call(ctx, "n1-none"); !errors.Is(err, calls.ErrNotFound) {
		t.Errorf("unknown call: %v, want ErrNotFound", err)
	}
	if got.Duration(base.Add(time.Hour)) != 0 {
		t.Error("an unanswered call has a duration")
	}
}

func testJoinLeave(t *testing.T, s calls.Store) {
	ctx := t.Context()
	create(t, s, newCall("n1-a", "g", "alice", base))
	must(t, "caller rejoins", s.JoinCall(ctx, "n1-a", "alice", base.Add(time.Second)))
	if c := get(t, s, "n1-a"); !c.AnsweredAt.IsZero() || len(c.Participants) != 1 {
		t.Fatalf("the caller's own join answered the call or added a row: %s", describe(c))
	}
	must(t, "bob joins", s.JoinCall(ctx, "n1-a", "bob", base.Add(2*time.Second)))
	must(t, "carol joins", s.JoinCall(ctx, "n1-a", "carol", base.Add(3*time.Second)))
	must(t, "bob leaves", s.LeaveCall(ctx, "n1-a", "bob", base.Add(4*time.Second)))
	must(t, "bob leaves again", s.LeaveCall(ctx, "n1-a", "bob", base.Add(5*time.Second)))
	c := get(t, s, "n1-a")
	if !c.AnsweredAt.Equal(norm(base.Add(2 * time.Second))) {
		t.Errorf("answered at %v, want bob's join", c.AnsweredAt)
	}
	if len(c.Participants) != 3 || c.Participants[1].User != "bob" || c.Participants[2].User != "carol" ||
		!c.Participants[1].LeftAt.Equal(norm(base.Add(4*time.Second))) || !c.Participants[2].LeftAt.IsZero() {
		t.Fatalf("participants: %s", describe(c))
	}
	must(t, "bob comes back", s.JoinCall(ctx, "n1-a", "bob", base.Add(6*time.Second)))
	c = get(t, s, "n1-a")
	if p := c.Participants[1]; !p.LeftAt.IsZero() || !p.JoinedAt.Equal(norm(base.Add(2*time.Second))) {
		t.Errorf("rejoined bob: %+v, want his first join and no leave", p)
	}
	if !c.AnsweredAt.Equal(norm(base.Add(2 * time.Second))) {
		t.Errorf("a later join moved AnsweredAt to %v", c.AnsweredAt)
	}
	must(t, "escalate", s.EscalateCall(ctx, "n1-a"))
	if !get(t, s, "n1-a").SFU {
		t.Error("escalated call is not SFU")
	}
	for name, err := range map[string]error{
		"join unknown call":     s.JoinCall(ctx, "n1-none", "bob", base),
		"leave unknown call":    s.LeaveCall(ctx, "n1-none", "bob", base),
		"leave as a stranger":   s.LeaveCall(ctx, "n1-a", "mallory", base),
		"escalate unknown call": s.EscalateCall(ctx, "n1-none"),
		"end unknown call":      s.EndCall(ctx, "n1-none", calls.EndHangup, base),
	} {
		if !errors.Is(err, calls.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func testEnd(t *testing.T, s calls.Store) {
	ctx := t.Context()
	create(t, s, newCall("n1-a", "g", "alice", base))
	must(t, "bob joins", s.JoinCall(ctx, "n1-a", "bob", base.Add(10*time.Second)))
	must(t, "end", s.EndCall(ctx, "n1-a", calls.EndHangup, base.Add(70*time.Second)))
	must(t, "end again", s.EndCall(ctx, "n1-a", calls.EndLost, base.Add(80*time.Second)))
	c := get(t, s, "n1-a")
	end := norm(base.Add(70 * time.Second))
	if !c.EndedAt.Equal(end) || c.EndReason != calls.EndHangup {
		t.Fatalf("ended: %s", describe(c))
	}
	for _, p := range c.Participants {
		if !p.LeftAt.Equal(end) {
			t.Errorf("%s left at %v, want the end", p.User, p.LeftAt)
		}
	}
	if d := c.Duration(base.Add(time.Hour)); d != time.Minute {
		t.Errorf("duration %v, want 1m (answer → end)", d)
	}
	if err := s.JoinCall(ctx, "n1-a", "carol", base.Add(90*time.Second)); !errors.Is(err, calls.ErrEnded) {
		t.Errorf("join an ended call: %v, want ErrEnded", err)
	}
}

func testPages(t *testing.T, s calls.Store) {
	ctx := t.Context()
	var want []string // newest first
	for i := range 7 {
		at := base.Add(time.Duration(i/2) * time.Minute) // pairs share a creation time: the id breaks the tie
		id := fmt.Sprintf("n1-c%d", i)
		create(t, s, newCall(id, "g", "alice", at))
		want = append([]string{id}, want...)
	}
	create(t, s, newCall("n1-other", "g2", "alice", base.Add(time.Hour)))
	var got []string
	page := calls.Page{Channel: "g", Limit: 3}
	for range 10 {
		cs, err := s.ChannelCalls(ctx, page)
		must(t, "ChannelCalls", err)
		for _, c := range cs {
			got = append(got, c.ID)
			if len(c.Participants) != 1 {
				t.Errorf("%s without its participant", c.ID)
			}
		}
		if len(cs) < page.Limit {
			break
		}
		page.Before, page.BeforeID = cs[len(cs)-1].CreatedAt, cs[len(cs)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages: %v, want %v", got, want)
	}
	if cs, err := s.ChannelCalls(ctx, calls.Page{Channel: "none", Limit: 5}); err != nil || len(cs) != 0 {
		t.Errorf("empty channel: %v %v", cs, err)
	}
}

func testActive(t *testing.T, s calls.Store) {
	ctx := t.Context()
	a, b, c := newCall("n1-a", "g", "alice", base), newCall("n1-b", "g", "alice", base), newCall("n2-c", "g", "alice", base)
	c.Node = "n2"
	for _, x := range []calls.Call{a, b, c} {
		create(t, s, x)
	}
	must(t, "end b", s.EndCall(ctx, "n1-b", calls.EndMissed, base.Add(time.Minute)))
	active, err := s.ActiveCalls(ctx, "n1")
	must(t, "ActiveCalls", err)
	if len(active) != 1 || active[0].ID != "n1-a" {
		t.Errorf("active calls of n1: %v", active)
	}
}
