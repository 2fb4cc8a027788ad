package memory

import (
	"testing"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/storage/presencetest"
)

func TestPresenceContract(t *testing.T) {
	presencetest.Run(t, func(t *testing.T) presence.Store { return NewPresence() })
}

func TestLimiterContract(t *testing.T) {
	presencetest.RunLimiter(t, func(t *testing.T) presencetest.Limiter { return NewLimiter() })
}
