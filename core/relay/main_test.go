package relay

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test stops what it started: servers, connections, subscriptions.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
