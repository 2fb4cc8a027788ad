package live

import (
	"context"
	"time"
)

// Key is a stream key as stored: never the secret itself, only its
// SHA-256 (HashKey). The secret is shown once, when issued.
type Key struct {
	ID        string    // public id, to list and revoke the key: "sk-" + 16 base32 characters
	Hash      []byte    // SHA-256 of the secret key, 32 bytes, unique
	User      string    // the creator it was issued to
	Stream    string    // the playback name: /live/<Stream>/index.m3u8; unique
	Record    bool      // keep the stream's segments as a VOD after it ends
	CreatedAt time.Time // UTC, microsecond precision
	RevokedAt time.Time // zero while valid
}

// KeyStore keeps stream keys. Implementations: storage/sqlite and
// storage/postgres (contract suite storage/livetest). Times come back in
// UTC truncated to the microsecond.
type KeyStore interface {
	// CreateStreamKey stores k; ErrExists when its ID, Hash or Stream is
	// taken (revoked keys included: names are never reused).
	CreateStreamKey(ctx context.Context, k Key) error
	// StreamKeyByHash returns the key whose hash is hash, revoked or not;
	// ErrNotFound when there is none.
	StreamKeyByHash(ctx context.Context, hash []byte) (Key, error)
	// UserStreamKeys lists user's keys, revoked included, oldest first.
	UserStreamKeys(ctx context.Context, user string) ([]Key, error)
	// RevokeStreamKey revokes user's key id at time at. ErrNotFound when
	// user has no key id; revoking twice keeps the first time and is not an
	// error.
	RevokeStreamKey(ctx context.Context, user, id string, at time.Time) error
}
