package memory

import (
	"testing"

	"github.com/salamhq/salam/core/console"
	"github.com/salamhq/salam/storage/audittest"
)

func TestAuditContract(t *testing.T) {
	audittest.Run(t, func(*testing.T) console.AuditLog { return new(Audit) })
}
