// Package wire is Salam's client protocol v1 for Go clients: the envelope
// (Frame), frame types, error and close codes, and the msgpack and JSON
// codecs. It is a copy of the server's reference package
// github.com/salamhq/salam/wire, so that the SDK builds without the server
// module and its dependencies.
//
// Every .go file here except this one and generate.go is byte-identical to
// its twin in the repository's wire/ directory: sync_test.go fails when they
// drift, and `go generate ./wire` (run from sdk/go) copies them again. Edit
// the server's package, never these files. The specification is
// wire/PROTOCOL.md in the repository.
package wire
