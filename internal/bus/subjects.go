package bus

import "strings"

// Prefix is the first token of every Salam subject, so that Salam can share a
// NATS cluster (or account) with other applications and be granted
// permissions with one "salam.>" rule.
const Prefix = "salam"

const (
	publishPrefix = Prefix + ".pub."
	requestPrefix = Prefix + ".req."
	eventPrefix   = Prefix + ".ev."
)

// RequestWildcard matches the request subject of every channel: subscribe
// (access check and resume), history and receipt frames, answered by core/chat
// in queue group QueueCore.
const RequestWildcard = requestPrefix + "*"

// RequestSubject returns "salam.req.<channel>", where an edge sends the
// Requests of channel other than publishes.
func RequestSubject(channel string) string { return requestPrefix + channel }

// EventChannel returns the channel of an event subject, and false when
// subject is not one.
func EventChannel(subject string) (string, bool) {
	channel, ok := strings.CutPrefix(subject, eventPrefix)
	return channel, ok && channel != ""
}

// PublishWildcard matches the publish subject of every channel. Core services
// subscribe to it in queue group QueueCore.
const PublishWildcard = publishPrefix + "*"

// QueueCore is the queue group of the core services that answer publish
// requests: each request is delivered to exactly one member.
const QueueCore = Prefix + ".core"

// PublishSubject returns "salam.pub.<channel>", the subject on which an edge
// sends a Publish request for channel. The channel must be valid
// (wire.ValidChannel), which makes it exactly one subject token.
func PublishSubject(channel string) string { return publishPrefix + channel }

// PublishChannel is the inverse of PublishSubject: it returns the channel
// token of a publish subject, and false when subject is not one.
func PublishChannel(subject string) (channel string, ok bool) {
	channel, ok = strings.CutPrefix(subject, publishPrefix)
	if !ok || channel == "" || strings.IndexByte(channel, '.') >= 0 {
		return "", false
	}
	return channel, true
}

// EventSubject returns "salam.ev.<channel>", the subject on which core
// publishes the Events of channel. The channel must be valid
// (wire.ValidChannel).
func EventSubject(channel string) string { return eventPrefix + channel }
