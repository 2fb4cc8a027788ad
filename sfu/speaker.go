package sfu

import (
	"slices"
	"sort"

	"github.com/pion/webrtc/v4"

	"github.com/salamhq/salam/wire"
)

// Active speaker detection reads the audio level header extension (RFC
// 6464: 0 is the loudest, 127 silence, in -dBov) of every audio packet,
// averages it per track over Config.SpeakerInterval and announces, when it
// changes, who speaks above speakerThreshold, loudest first.
const (
	speakerThreshold = 127 - 60 // louder than -60 dBov on average
	maxSpeakers      = 3
)

// detectSpeakers runs on the room's goroutine every Config.SpeakerInterval.
func (r *room) detectSpeakers() {
	type loud struct {
		user  string
		level uint64
	}
	var active []loud
	levels := make(map[string]uint64, len(r.order)) // every publisher's, for the room's other nodes
	for _, user := range r.order {
		p := r.parts[user]
		var best uint64
		if p.via != nil { // measured by its own node (relay.go)
			best = p.level
			if p.role == wire.RoleListener {
				best = 0
			}
		}
		for _, up := range p.published {
			if up.kind != webrtc.RTPCodecTypeAudio {
				continue
			}
			sum, n := up.loudness.Swap(0), up.levels.Swap(0)
			if n > 0 && !up.muted.Load() && p.role != wire.RoleListener {
				best = max(best, sum/n)
			}
		}
		levels[user] = best
		if best >= speakerThreshold {
			active = append(active, loud{user, best})
		}
	}
	r.relayLevels(levels)
	r.relayWanted()
	sort.SliceStable(active, func(i, j int) bool { return active[i].level > active[j].level })
	users := make([]string, 0, maxSpeakers)
	for i := 0; i < len(active) && i < maxSpeakers; i++ {
		users = append(users, active[i].user)
	}
	if slices.Equal(users, r.speakers) {
		return
	}
	r.speakers = users
	r.node.metrics.speakerChanges.Inc()
	r.broadcast("", &wire.Frame{Type: wire.TypeRoom, Kind: wire.RoomActiveSpeakers, CallID: r.id, Users: users})
}
