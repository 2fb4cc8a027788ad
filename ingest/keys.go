package ingest

import "context"

// StreamInfo is what a valid stream key resolves to.
type StreamInfo struct {
	// Name is the playback name: http://HOST:8888/live/<Name>/index.m3u8.
	// It is not the key, which stays secret to the creator.
	Name string
	// UserID is the creator the key was issued to.
	UserID string
	// Record keeps the segments on disk with a VOD playlist after the
	// stream ends (when the server has a recording directory).
	Record bool
}

// KeyChecker resolves a stream key at publish time. CheckKey returns
// ErrBadKey (possibly wrapped) for an unknown or revoked key; any other error
// is a failure to check (core unreachable), and the publish is refused as
// well. It must return within ctx's deadline.
type KeyChecker interface {
	CheckKey(ctx context.Context, key string) (StreamInfo, error)
}

// Lifecycle hears about publishes. Started is called once the stream's
// tracks are known and its playlist is being produced; Stopped once per
// Started, when the publisher goes away (reason says why: nil or io.EOF for
// a clean end, ErrStalled, ErrReplaced, ErrClosed...). Both are called from
// the publisher's goroutine and should not block for long.
type Lifecycle interface {
	Started(info StreamInfo)
	Stopped(info StreamInfo, reason error)
}
