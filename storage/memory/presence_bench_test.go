package memory

import (
	"fmt"
	"testing"

	"github.com/salamhq/salam/storage/presencetest"
)

func BenchmarkBeat(b *testing.B) {
	for _, n := range []int{1000, 15000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) { presencetest.BenchBeat(b, NewPresence(), n, nil) })
	}
}
