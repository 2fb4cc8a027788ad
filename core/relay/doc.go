// Package relay is the core service that answers edge publish requests for
// ephemeral channels: it numbers each message in its channel, publishes the
// event on the channel's event subject, then acks the publisher.
//
// # Guarantees and limits
//
// Sequences start at 1 and are strictly increasing and gap-free per channel
// for the lifetime of this process: a sequence is consumed only when its
// event was handed to the NATS connection. They are held in memory only and
// are not durable: a restart numbers every channel from 1 again, and several
// relay processes in one queue group would each number the same channel
// independently. That is acceptable for ephemeral channels only; core/chat
// replaces this service for durable channels, with sequences committed to
// storage.
//
// The event is published before the reply, from the same connection, so an
// edge that subscribed to the channel has the event on its connection no
// later than the ack. Events of one channel leave in sequence order. The
// channel table grows by one entry per channel ever published to (see
// channels.go); nothing is evicted.
//
// # Request handling
//
//	decode bus.Publish             malformed            → CodeBadFrame
//	wire.ValidChannel(channel)     invalid              → CodeBadChannel
//	channel == subject token       mismatch             → CodeBadChannel
//	number, publish bus.Event      payload too large    → CodeTooLarge
//	                               connection failure   → CodeUnavailable
//	reply bus.PublishReply{Seq, Time}
//
// A request without a reply subject is relayed without an ack.
//
// # Goroutines and locks
//
// The relay starts no goroutine of its own. Start creates Config.Workers
// queue subscriptions; nats.go runs one goroutine per subscription, which
// calls that subscription's worker.handle for one message at a time, so a
// worker's buffers need no lock. Those goroutines belong to the NATS
// connection; Stop drains the subscriptions and waits until each goroutine
// has returned (signalled by the subscription's closed handler). Stop never
// closes the connection, which belongs to the caller.
//
// Locks, in the order they may be taken: Service.mu (start/stop state, never
// held while handling a request) is independent of the rest; channels.mu
// (the channel map) is released before channel.mu (one channel's sequence)
// is taken. channel.mu is held while the event is encoded and handed to the
// connection (a copy into its buffer, or a socket write when that buffer is
// full), never while waiting for a reply.
//
// # Owns / must not do
//
// Owns: publish numbering for ephemeral channels, the salam_relay_* metrics.
// Must not: import edge or storage, store messages, check membership or
// de-duplicate by message id (core/chat's job), or close the connection it
// was given.
package relay
