package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/salamhq/salam/core/chat"
)

// MoveRead implements chat.Store.
func (s *Store) MoveRead(ctx context.Context, channel, user string, seq uint64) (uint64, bool, error) {
	return s.moveCursor(ctx, channel, user, seq, true)
}

// MoveDelivered implements chat.Store.
func (s *Store) MoveDelivered(ctx context.Context, channel, user string, seq uint64) (uint64, bool, error) {
	return s.moveCursor(ctx, channel, user, seq, false)
}

// moveCursor reads the member's cursors and the channel's last sequence and
// writes the new cursor in one write transaction, so a concurrent Append
// or move cannot come between the read and the write.
func (s *Store) moveCursor(ctx context.Context, channel, user string, seq uint64, read bool) (uint64, bool, error) {
	var (
		cursor uint64
		moved  bool
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var readSeq, deliveredSeq, last int64
		if err := tx.StmtContext(ctx, s.ws.cursors).QueryRowContext(ctx, channel, user).Scan(&readSeq, &deliveredSeq, &last); err != nil {
			return notFound(err, "move cursor of %q in %q", user, channel)
		}
		cur, st := readSeq, s.ws.setRead
		if !read {
			cur, st = deliveredSeq, s.ws.setDelivered
		}
		to := min(seqArg(seq), last)
		if to <= cur {
			cursor = uint64(cur)
			return nil
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, to, channel, user); err != nil {
			return fmt.Errorf("sqlite: move cursor of %q in %q: %w", user, channel, err)
		}
		cursor, moved = uint64(to), true
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return cursor, moved, nil
}

// Unread implements chat.Store; banned memberships are left out, as in
// ChannelsOf.
func (s *Store) Unread(ctx context.Context, user string) ([]chat.Unread, error) {
	rows, err := s.rs.unread.QueryContext(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("sqlite: unread of %q: %w", user, err)
	}
	defer rows.Close()
	var out []chat.Unread
	for rows.Next() {
		var (
			u          chat.Unread
			last, read int64
		)
		if err := rows.Scan(&u.Channel, &last, &read); err != nil {
			return nil, fmt.Errorf("sqlite: unread of %q: %w", user, err)
		}
		u.LastSeq, u.ReadSeq = uint64(last), uint64(read)
		if u.LastSeq > u.ReadSeq {
			u.Count = u.LastSeq - u.ReadSeq
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: unread of %q: %w", user, err)
	}
	return out, nil
}
