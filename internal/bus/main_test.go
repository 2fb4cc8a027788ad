package bus

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test stops what it started: servers and connections.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
