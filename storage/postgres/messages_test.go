package postgres

import (
	"errors"
	"testing"

	"github.com/salamhq/salam/core/chat"
)

func TestHistoryRejectsTwoAnchors(t *testing.T) {
	s := openTest(t)
	for _, q := range []chat.HistoryQuery{{Before: 5, After: 1}, {After: 1, Around: 3}, {Before: 5, Around: 3}} {
		q.Channel, q.Limit = "g", 10
		if _, _, err := s.History(t.Context(), q); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("History(%+v) = %v, want ErrInvalidQuery", q, err)
		}
	}
}
