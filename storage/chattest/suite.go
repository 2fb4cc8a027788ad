package chattest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
)

// Opener returns a fresh, empty store for one test and arranges for its
// Close (t.Cleanup). The suite never closes a store itself.
type Opener = func(t *testing.T) chat.Store

// Run runs the whole contract suite against the stores returned by open,
// one fresh store per leaf test. Subtests run one after another.
func Run(t *testing.T, open func(t *testing.T) chat.Store) {
	t.Run("Channels", func(t *testing.T) { runChannels(t, open) })
	t.Run("Members", func(t *testing.T) { runMembers(t, open) })
	t.Run("Append", func(t *testing.T) { runAppend(t, open) })
	t.Run("AppendConcurrent", func(t *testing.T) { runAppendConcurrent(t, open) })
	t.Run("History", func(t *testing.T) { runHistory(t, open) })
	t.Run("Messages", func(t *testing.T) { runMessages(t, open) })
	t.Run("Cursors", func(t *testing.T) { runCursors(t, open) })
}

// base is the time the fixtures start from: not UTC and finer than a
// microsecond, so that every store has to normalise it.
var base = time.Date(2025, time.March, 1, 9, 30, 0, 123456789, time.FixedZone("AST", 3*60*60))

// owner creates every fixture channel.
const owner = "owner"

// fixture is one test's store and the helpers that fill it. Every helper
// fails the test on an unexpected error.
type fixture struct {
	t   *testing.T
	s   chat.Store
	ctx context.Context
	ids int // last client id handed out by newMsg
}

func setup(t *testing.T, open Opener) *fixture {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	return &fixture{t: t, s: s, ctx: t.Context()}
}

// group creates a public group channel id with the given member cap, owned
// by owner.
func (f *fixture) group(id string, memberCap int) chat.Channel {
	f.t.Helper()
	ch, err := f.s.CreateChannel(f.ctx, chat.Channel{
		ID: id, Kind: chat.KindGroup, Name: "name of " + id, Public: true,
		MemberCap: memberCap, CreatedBy: owner, CreatedAt: base,
	}, owner)
	if err != nil {
		f.t.Fatalf("CreateChannel(%q): %v", id, err)
	}
	return ch
}

// join adds users to a channel as RoleMember.
func (f *fixture) join(channel string, users ...string) {
	f.t.Helper()
	for _, u := range users {
		f.put(channel, u, chat.RoleMember)
	}
}

func (f *fixture) put(channel, user string, role chat.Role) chat.Member {
	f.t.Helper()
	m, err := f.s.PutMember(f.ctx, channel, user, role)
	if err != nil {
		f.t.Fatalf("PutMember(%q, %q, %q): %v", channel, user, role, err)
	}
	return m
}

// newMsg returns a text message with a fresh client id; its body and
// creation time derive from that id.
func (f *fixture) newMsg(channel, sender string) chat.NewMessage {
	f.ids++
	id := fmt.Sprintf("cid%05d", f.ids)
	return chat.NewMessage{
		Channel: channel, Sender: sender, ClientID: id, ContentType: "text/plain",
		Body: []byte("hello " + id), CreatedAt: base.Add(time.Duration(f.ids) * time.Millisecond),
	}
}

// append appends a batch and checks that there is one result per message.
func (f *fixture) append(msgs ...chat.NewMessage) []chat.AppendResult {
	f.t.Helper()
	res, err := f.s.Append(f.ctx, msgs)
	if err != nil {
		f.t.Fatalf("Append(%d messages): %v", len(msgs), err)
	}
	if len(res) != len(msgs) {
		f.t.Fatalf("Append(%d messages) returned %d results", len(msgs), len(res))
	}
	return res
}

// post appends n new messages from sender to channel in one batch and
// returns them as stored.
func (f *fixture) post(channel, sender string, n int) []chat.Message {
	f.t.Helper()
	msgs := make([]chat.NewMessage, n)
	for i := range msgs {
		msgs[i] = f.newMsg(channel, sender)
	}
	out := make([]chat.Message, n)
	for i, r := range f.append(msgs...) {
		if r.Err != nil || r.Duplicate {
			f.t.Fatalf("post %s: result %d: err %v, duplicate %v", channel, i, r.Err, r.Duplicate)
		}
		out[i] = r.Message
	}
	return out
}

func (f *fixture) channel(id string) chat.Channel {
	f.t.Helper()
	ch, err := f.s.Channel(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Channel(%q): %v", id, err)
	}
	return ch
}

func (f *fixture) message(channel string, seq uint64) chat.Message {
	f.t.Helper()
	m, err := f.s.Message(f.ctx, channel, seq)
	if err != nil {
		f.t.Fatalf("Message(%q, %d): %v", channel, seq, err)
	}
	return m
}

func (f *fixture) member(channel, user string) chat.Member {
	f.t.Helper()
	m, err := f.s.Member(f.ctx, channel, user)
	if err != nil {
		f.t.Fatalf("Member(%q, %q): %v", channel, user, err)
	}
	return m
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// timeDiff describes how got differs from want as the store must return
// it: UTC, truncated to the microsecond; zero stays zero.
func timeDiff(got, want time.Time) string {
	if want.IsZero() {
		if !got.IsZero() {
			return fmt.Sprintf("%v, want the zero time", got)
		}
		return ""
	}
	w := want.Truncate(time.Microsecond)
	switch {
	case got.Location() != time.UTC:
		return fmt.Sprintf("%v is not in UTC", got)
	case !got.Equal(w):
		return fmt.Sprintf("%v, want %v", got.Format(time.RFC3339Nano), w.UTC().Format(time.RFC3339Nano))
	}
	return ""
}

func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := timeDiff(got, want); d != "" {
		t.Errorf("%s: %s", what, d)
	}
}

// checkRecent checks a time the store chose itself (a join time).
func checkRecent(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.Location() != time.UTC || got.IsZero() || time.Since(got).Abs() > time.Hour {
		t.Errorf("%s: %v, want a recent UTC time", what, got)
	}
}

// expect returns the message the store must return for m stored at seq.
func expect(m chat.NewMessage, seq uint64) chat.Message {
	return chat.Message{
		Channel: m.Channel, Seq: seq, Sender: m.Sender, ClientID: m.ClientID,
		ContentType: m.ContentType, Body: m.Body, Attachments: m.Attachments,
		ReplyTo: m.ReplyTo, CreatedAt: m.CreatedAt,
	}
}

// messageDiff lists the fields where got differs from want. Empty and nil
// bodies, attachments and reactions are equal here; where the contract
// demands nil (a tombstone's body, no reactions) the tests check that
// separately.
func messageDiff(got, want chat.Message) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s %v, want %v", field, g, w)) }
	if got.Channel != want.Channel {
		add("Channel", got.Channel, want.Channel)
	}
	if got.Seq != want.Seq {
		add("Seq", got.Seq, want.Seq)
	}
	if got.Sender != want.Sender {
		add("Sender", got.Sender, want.Sender)
	}
	if got.ClientID != want.ClientID {
		add("ClientID", got.ClientID, want.ClientID)
	}
	if got.ContentType != want.ContentType {
		add("ContentType", got.ContentType, want.ContentType)
	}
	if !bytes.Equal(got.Body, want.Body) {
		add("Body", fmt.Sprintf("%q", got.Body), fmt.Sprintf("%q", want.Body))
	}
	if !attachmentsEqual(got.Attachments, want.Attachments) {
		add("Attachments", got.Attachments, want.Attachments)
	}
	if got.ReplyTo != want.ReplyTo {
		add("ReplyTo", got.ReplyTo, want.ReplyTo)
	}
	if s := timeDiff(got.CreatedAt, want.CreatedAt); s != "" {
		d = append(d, "CreatedAt "+s)
	}
	if s := timeDiff(got.EditedAt, want.EditedAt); s != "" {
		d = append(d, "EditedAt "+s)
	}
	if got.Deleted != want.Deleted {
		add("Deleted", got.Deleted, want.Deleted)
	}
	if got.Pinned != want.Pinned {
		add("Pinned", got.Pinned, want.Pinned)
	}
	if !maps.Equal(got.Reactions, want.Reactions) {
		add("Reactions", got.Reactions, want.Reactions)
	}
	return strings.Join(d, "; ")
}

func checkMessage(t *testing.T, what string, got, want chat.Message) {
	t.Helper()
	if d := messageDiff(got, want); d != "" {
		t.Errorf("%s (%s #%d): %s", what, want.Channel, want.Seq, d)
	}
}

func attachmentsEqual(a, b []chat.Attachment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func seqsOf(msgs []chat.Message) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

// seqRange returns from, from±1, …, to.
func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; ; {
		out = append(out, s)
		if s == to {
			return out
		}
		if from < to {
			s++
		} else {
			s--
		}
	}
}
