package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/salamhq/salam/core/chat"
)

// Message implements chat.Store.
func (s *Store) Message(ctx context.Context, channel string, seq uint64) (chat.Message, error) {
	m, err := scanMessage(s.rs.message.QueryRowContext(ctx, channel, seqArg(seq)))
	if err != nil {
		return chat.Message{}, notFound(err, "message %s #%d", channel, seq)
	}
	return m, nil
}

// History implements chat.Store. A Limit outside 1–chat.MaxHistoryLimit
// is clamped into it. Each page is one statement, hence one snapshot. An
// unknown channel has no messages.
//
// Around takes ⌈Limit/2⌉ messages with Seq ≤ Around and ⌊Limit/2⌋ after
// it; near either end of the channel the page is shorter, not shifted.
func (s *Store) History(ctx context.Context, q chat.HistoryQuery) ([]chat.Message, bool, error) {
	set := 0
	for _, v := range []uint64{q.Before, q.After, q.Around} {
		if v != 0 {
			set++
		}
	}
	if set > 1 {
		return nil, false, fmt.Errorf("%w: more than one of before, after and around", ErrInvalidQuery)
	}
	limit := min(max(q.Limit, 1), chat.MaxHistoryLimit)
	var (
		rows *sql.Rows
		err  error
	)
	// Each query fetches one row more than the page on every side it
	// reads, to learn whether more exist.
	switch {
	case q.After != 0:
		rows, err = s.rs.after.QueryContext(ctx, q.Channel, seqArg(q.After), limit+1)
	case q.Around != 0:
		rows, err = s.rs.around.QueryContext(ctx, q.Channel, seqArg(q.Around), (limit+1)/2+1, limit/2+1)
	default:
		before := int64(math.MaxInt64)
		if q.Before != 0 {
			before = seqArg(q.Before)
		}
		rows, err = s.rs.before.QueryContext(ctx, q.Channel, before, limit+1)
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: history of %q: %w", q.Channel, err)
	}
	msgs, err := scanMessages(rows, limit+2)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: history of %q: %w", q.Channel, err)
	}

	var more bool
	if q.Around != 0 {
		// Rows come as the lower part newest-first, then the upper part
		// oldest-first; sort ascending, then trim the probe rows.
		slices.SortFunc(msgs, func(a, b chat.Message) int { return cmpSeq(a.Seq, b.Seq) })
		lower := 0
		for lower < len(msgs) && msgs[lower].Seq <= q.Around {
			lower++
		}
		upper := len(msgs) - lower
		if lo := (limit + 1) / 2; lower > lo {
			msgs, lower, more = msgs[lower-lo:], lo, true
		}
		if hi := limit / 2; upper > hi {
			msgs, more = msgs[:lower+hi], true
		}
	} else {
		if len(msgs) > limit {
			msgs, more = msgs[:limit], true
		}
		// Before and newest come newest-first, After oldest-first.
		if (q.After != 0) != q.Oldest {
			slices.Reverse(msgs)
		}
		return msgs, more, nil
	}
	if !q.Oldest {
		slices.Reverse(msgs)
	}
	return msgs, more, nil
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Edit implements chat.Store.
func (s *Store) Edit(ctx context.Context, channel string, seq uint64, contentType string, body []byte, at time.Time) (chat.Message, error) {
	var out chat.Message
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.live(ctx, tx, "edit", channel, seq); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, s.ws.edit).ExecContext(ctx, contentType, body, micros(at), channel, seqArg(seq)); err != nil {
			return fmt.Errorf("sqlite: edit %s #%d: %w", channel, seq, err)
		}
		var err error
		out, err = scanMessage(tx.StmtContext(ctx, s.ws.message).QueryRowContext(ctx, channel, seqArg(seq)))
		return notFound(err, "edit %s #%d", channel, seq)
	})
	return out, err
}

// Delete implements chat.Store.
func (s *Store) Delete(ctx context.Context, channel string, seq uint64) (chat.Message, error) {
	var out chat.Message
	err := s.write(ctx, func(tx *sql.Tx) error {
		id := []any{channel, seqArg(seq)}
		if _, err := tx.StmtContext(ctx, s.ws.tombstone).ExecContext(ctx, id...); err != nil {
			return fmt.Errorf("sqlite: delete %s #%d: %w", channel, seq, err)
		}
		if _, err := tx.StmtContext(ctx, s.ws.unreactAll).ExecContext(ctx, id...); err != nil {
			return fmt.Errorf("sqlite: delete %s #%d: reactions: %w", channel, seq, err)
		}
		var err error
		out, err = scanMessage(tx.StmtContext(ctx, s.ws.message).QueryRowContext(ctx, id...))
		return notFound(err, "delete %s #%d", channel, seq)
	})
	return out, err
}

// React implements chat.Store.
func (s *Store) React(ctx context.Context, channel string, seq uint64, user, emoji string, add bool) (map[string]int, error) {
	var counts map[string]int
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.live(ctx, tx, "react to", channel, seq); err != nil {
			return err
		}
		st := s.ws.unreact
		if add {
			st = s.ws.react
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, channel, seqArg(seq), user, emoji); err != nil {
			return fmt.Errorf("sqlite: react to %s #%d: %w", channel, seq, err)
		}
		rows, err := tx.StmtContext(ctx, s.ws.reactions).QueryContext(ctx, channel, seqArg(seq))
		if err != nil {
			return fmt.Errorf("sqlite: react to %s #%d: %w", channel, seq, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e string
				n int
			)
			if err := rows.Scan(&e, &n); err != nil {
				return fmt.Errorf("sqlite: react to %s #%d: %w", channel, seq, err)
			}
			if counts == nil {
				counts = make(map[string]int)
			}
			counts[e] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// live checks inside tx that a message exists and is not a tombstone.
func (s *Store) live(ctx context.Context, tx *sql.Tx, op, channel string, seq uint64) error {
	var deleted bool
	if err := tx.StmtContext(ctx, s.ws.messageState).QueryRowContext(ctx, channel, seqArg(seq)).Scan(&deleted); err != nil {
		return notFound(err, "%s %s #%d", op, channel, seq)
	}
	if deleted {
		return fmt.Errorf("sqlite: %s %s #%d: %w", op, channel, seq, chat.ErrDeleted)
	}
	return nil
}

// Pin implements chat.Store.
func (s *Store) Pin(ctx context.Context, channel string, seq uint64, pinned bool) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.ws.pin).ExecContext(ctx, boolArg(pinned), channel, seqArg(seq))
		if err != nil {
			return fmt.Errorf("sqlite: pin %s #%d: %w", channel, seq, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("sqlite: pin %s #%d: %w", channel, seq, chat.ErrNotFound)
		}
		return nil
	})
}

// Pinned implements chat.Store.
func (s *Store) Pinned(ctx context.Context, channel string) ([]chat.Message, error) {
	rows, err := s.rs.pinned.QueryContext(ctx, channel)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pinned of %q: %w", channel, err)
	}
	msgs, err := scanMessages(rows, 8)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pinned of %q: %w", channel, err)
	}
	return msgs, nil
}
