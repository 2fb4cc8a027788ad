package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/storage/sqlite"
)

// Presence changes reach DMs and groups up to announce_max_members, not
// live rooms or bigger groups.
func TestPresenceAudience(t *testing.T) {
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, ch := range []chat.Channel{
		{ID: chat.DMChannelID("alice", "bob"), Kind: chat.KindDM, MemberCap: 2},
		{ID: "team", Kind: chat.KindGroup, MemberCap: 256},
		{ID: "hall", Kind: chat.KindGroup, MemberCap: 1000},
		{ID: "live", Kind: chat.KindBroadcast},
	} {
		ch.Name, ch.CreatedAt = ch.ID, now
		if _, err := store.CreateChannel(ctx, ch, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := channelsOf{store, 256}.ChannelsOf(ctx, "alice")
	if want := fmt.Sprint([]string{chat.DMChannelID("alice", "bob"), "team"}); err != nil || fmt.Sprint(got) != want {
		t.Fatalf("audience %v, %v; want %s", got, err, want)
	}
}
