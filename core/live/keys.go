package live

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strings"
	"time"

	"github.com/salamhq/salam/internal/bus"
)

// keyPrefix starts every secret stream key, so that a leaked one is easy
// to recognise (secret scanners, logs).
const keyPrefix = "live_"

// HashKey is what is stored and compared for a secret key.
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewKey draws a new key for user: the secret (shown once, 192 random
// bits) and the Key to store. stream is the playback name; empty draws one.
func NewKey(user, stream string, record bool, now time.Time) (secret string, k Key) {
	var b [24]byte
	rand.Read(b[:])
	secret = keyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	if stream == "" {
		stream = randomID("")
	}
	return secret, Key{ID: randomID("sk-"), Hash: HashKey(secret), User: user, Stream: stream, Record: record,
		CreatedAt: now.UTC().Truncate(time.Microsecond)}
}

// randomID is prefix + 16 lowercase base32 characters (80 bits).
func randomID(prefix string) string {
	var b [10]byte
	rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// RoomChannel is the chat channel of a stream's live room; edges count its
// subscribers by its prefix.
func RoomChannel(stream string) string { return bus.LiveChannelPrefix + stream }
