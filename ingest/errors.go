package ingest

import "errors"

var (
	// ErrBadKey: the stream key is unknown or revoked (KeyChecker).
	ErrBadKey = errors.New("ingest: bad stream key")
	// ErrKeyCheck: the key could not be checked (core unreachable); the
	// publisher may retry.
	ErrKeyCheck = errors.New("ingest: stream key check failed, retry later")
	// ErrBadPath: the publish URL is not /live/<streamKey>.
	ErrBadPath = errors.New("ingest: publish path is not /live/<stream key>")
	// ErrPlayNotSupported: an RTMP client asked to play; viewers use HLS.
	ErrPlayNotSupported = errors.New("ingest: RTMP play is not supported, use HLS")
	// ErrStreamBusy: the stream already has a publisher and the config
	// refuses a second one.
	ErrStreamBusy = errors.New("ingest: stream already has a publisher")
	// ErrReplaced: the publisher was replaced by a new one on the same key.
	ErrReplaced = errors.New("ingest: replaced by a new publisher on the same key")
	// ErrUnsupportedCodec: the video is not H.264 (or there is no video).
	ErrUnsupportedCodec = errors.New("ingest: unsupported codec (H.264 video and AAC audio only)")
	// ErrStalled: no media arrived for Config.StallTimeout.
	ErrStalled = errors.New("ingest: publisher stalled")
	// ErrClosed: the server is shutting down.
	ErrClosed = errors.New("ingest: server closed")
)
