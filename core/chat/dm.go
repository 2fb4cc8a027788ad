package chat

import (
	"crypto/sha256"
	"encoding/hex"
)

// DMChannelID returns the channel id of the direct messages between two
// users: the same for (a, b) and (b, a), so opening a DM twice finds the same
// channel. User ids are hashed because they may hold characters that a
// channel name cannot.
func DMChannelID(a, b string) string {
	if b < a {
		a, b = b, a
	}
	h := sha256.New()
	h.Write([]byte(a))
	h.Write([]byte{0})
	h.Write([]byte(b))
	return "dm:" + hex.EncodeToString(h.Sum(nil)[:16])
}
