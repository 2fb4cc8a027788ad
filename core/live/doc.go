// Package live owns live streaming on the core side: stream keys (issued
// per creator and stream over REST, stored as SHA-256 hashes only, checked
// for ingest over NATS), live rooms (a public broadcast chat channel per
// stream, opened on publish and ended after a grace period once the
// publisher leaves), and the live viewer count.
//
// It never touches media: ingest (package ingest) asks for key checks on
// bus.LiveKeySubject and reports publish start/stop and HLS viewers on
// bus.LiveEventSubject. Storage is reached only through KeyStore, and the
// chat channel through chat.Store.
//
// # Goroutines and locks
//
// Every core process subscribes to the lifecycle events and edge reports
// (no queue group) and so holds every room; key checks go to one of them.
// Service's NATS handlers run on nats.go's subscription goroutines. mu
// guards the rooms map; a room's grace timer (time.AfterFunc) takes mu
// before ending the room, and a publish restart within the grace period
// stops that timer under mu. Store calls are never made under mu.
package live
