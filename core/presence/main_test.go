package presence

import (
	"testing"

	"go.uber.org/goleak"
)

// Every Coalescer a test starts is closed: Close must end its goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
