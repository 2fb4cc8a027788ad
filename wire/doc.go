// Package wire is protocol v1 of Salam: the one envelope (Frame) every
// WebSocket message carries, its frame types, error codes and close codes,
// and the two codecs that turn it into bytes: Msgpack for subprotocol
// salam.v1 (binary messages) and JSON for salam.v1.json (text messages,
// for debugging).
//
// PROTOCOL.md beside this file is the specification SDKs are written from;
// testdata/golden.json holds the vectors that pin the canonical bytes of
// both codecs. A change that alters a golden vector is a breaking change to
// v1 and belongs in a new subprotocol.
//
// What wire owns:
//   - the envelope, its keys and their canonical order;
//   - encoding (Codec.Append, zero allocations into a large enough buffer)
//     and decoding (Codec.Decode, which never panics and bounds everything
//     hostile input can declare);
//   - the numbering of frame types, error codes and close codes.
//
// What wire must not do: import other salam packages, perform I/O, log,
// keep state between calls, or judge what a frame means (whether a channel
// name is legal for an operation, whether a frame type is known, whether a
// client may send it): the edge decides that and answers with the codes
// defined here. Decoders only check that the bytes are a well-formed
// envelope.
package wire
