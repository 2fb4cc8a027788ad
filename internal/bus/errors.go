package bus

import "errors"

// Sentinel errors. Decoders and Connect wrap them with detail; test with errors.Is.
var (
	// ErrMalformed: a bus message is not valid msgpack of the expected shape.
	ErrMalformed = errors.New("bus: malformed message")
	// ErrTooLarge: a field of a bus message is longer than its limit.
	ErrTooLarge = errors.New("bus: field too large")
	// ErrNoServer: Config has no URLs and no embedded server was given.
	ErrNoServer = errors.New("bus: no NATS urls and no embedded server")
	// ErrInvalidConfig: a Config or EmbeddedConfig field is invalid.
	ErrInvalidConfig = errors.New("bus: invalid config")
)
