package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/salamhq/salam/core/chat"
)

// PutMember implements chat.Store. A new member joins now. The cap is
// checked inside the write transaction, which holds SQLite's write lock
// from its first statement, so no other join can slip in between the
// count and the insert. Lifting a ban counts as an addition.
func (s *Store) PutMember(ctx context.Context, channel, user string, role chat.Role) (chat.Member, error) {
	var out chat.Member
	err := s.write(ctx, func(tx *sql.Tx) error {
		var memberCap int
		if err := tx.StmtContext(ctx, s.ws.channelCap).QueryRowContext(ctx, channel).Scan(&memberCap); err != nil {
			return notFound(err, "put member %q in %q", user, channel)
		}
		cur, err := scanMember(tx.StmtContext(ctx, s.ws.member).QueryRowContext(ctx, channel, user))
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: put member %q in %q: %w", user, channel, err)
		}
		if exists && cur.Role == role {
			out = cur
			return nil
		}
		adds := role != chat.RoleBanned && (!exists || cur.Role == chat.RoleBanned)
		if adds && memberCap > 0 {
			var n int
			if err := tx.StmtContext(ctx, s.ws.memberCount).QueryRowContext(ctx, channel).Scan(&n); err != nil {
				return fmt.Errorf("sqlite: put member %q in %q: %w", user, channel, err)
			}
			if n >= memberCap {
				return fmt.Errorf("sqlite: put member %q in %q (%d of %d): %w", user, channel, n, memberCap, chat.ErrFull)
			}
		}
		if exists {
			if _, err := tx.StmtContext(ctx, s.ws.memberRole).ExecContext(ctx, string(role), channel, user); err != nil {
				return fmt.Errorf("sqlite: put member %q in %q: %w", user, channel, err)
			}
			out = cur
			out.Role = role
			return nil
		}
		out = chat.Member{Channel: channel, User: user, Role: role, JoinedAt: fromMicros(micros(time.Now()))}
		if _, err := tx.StmtContext(ctx, s.ws.memberInsert).ExecContext(ctx, channel, user, string(role), micros(out.JoinedAt)); err != nil {
			return fmt.Errorf("sqlite: put member %q in %q: %w", user, channel, err)
		}
		return nil
	})
	if err != nil {
		return chat.Member{}, err
	}
	return out, nil
}

// Member implements chat.Store.
func (s *Store) Member(ctx context.Context, channel, user string) (chat.Member, error) {
	m, err := scanMember(s.rs.member.QueryRowContext(ctx, channel, user))
	if err != nil {
		return chat.Member{}, notFound(err, "member %q of %q", user, channel)
	}
	return m, nil
}

// RemoveMember implements chat.Store.
func (s *Store) RemoveMember(ctx context.Context, channel, user string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.ws.memberDelete).ExecContext(ctx, channel, user)
		if err != nil {
			return fmt.Errorf("sqlite: remove member %q of %q: %w", user, channel, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("sqlite: remove member %q of %q: %w", user, channel, chat.ErrNotFound)
		}
		return nil
	})
}

// Members implements chat.Store. A limit of 0 or less returns nothing.
func (s *Store) Members(ctx context.Context, channel, after string, limit int) ([]chat.Member, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rs.members.QueryContext(ctx, channel, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: members of %q: %w", channel, err)
	}
	defer rows.Close()
	out := make([]chat.Member, 0, min(limit, 64))
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: members of %q: %w", channel, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: members of %q: %w", channel, err)
	}
	return out, nil
}

// MemberCount implements chat.Store; an unknown channel has no members.
func (s *Store) MemberCount(ctx context.Context, channel string) (int, error) {
	var n int
	if err := s.rs.memberCount.QueryRowContext(ctx, channel).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: member count of %q: %w", channel, err)
	}
	return n, nil
}
