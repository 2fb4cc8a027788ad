package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/salamhq/salam/core/chat"
)

const memberCols = `channel, user_id, role, joined_at, read_seq, delivered_seq`

func scanMember(row pgx.Row) (chat.Member, error) {
	var (
		m               chat.Member
		role            string
		read, delivered int64
	)
	if err := row.Scan(&m.Channel, &m.User, &role, &m.JoinedAt, &read, &delivered); err != nil {
		return chat.Member{}, err
	}
	m.Role = chat.Role(role)
	m.JoinedAt = m.JoinedAt.UTC()
	m.ReadSeq = uint64(read)
	m.DeliveredSeq = uint64(delivered)
	return m, nil
}

// PutMember runs two pipelined statements in one implicit transaction (one
// round trip). The first locks the channel row (channels_pkey, FOR NO KEY
// UPDATE: it serializes PutMember calls on the channel and UpdateChannel,
// in every process, and blocks neither foreign-key checks nor readers).
// The second starts after the lock is held, so its snapshot counts every
// committed member (members_pkey prefix scan), and upserts only when the
// change adds no non-banned member beyond the cap. A new member's JoinedAt
// is now and its cursors 0; a role change keeps both.
//
// Adding means any change that makes a user count against the cap: a new
// member that is not banned, or a banned member given another role. A new
// banned member (banning someone before they join) never counts.
func (s *Store) PutMember(ctx context.Context, channel, user string, role chat.Role) (chat.Member, error) {
	b := &pgx.Batch{}
	var exists bool
	b.Queue(`SELECT true FROM channels WHERE id = $1 FOR NO KEY UPDATE`, channel).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&exists)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	var (
		m   chat.Member
		put bool
	)
	b.Queue(`INSERT INTO members AS m (channel, user_id, role, joined_at)
		SELECT $1, $2, $3, $4
		FROM channels c
		WHERE c.id = $1 AND (
			$3 = 'banned'
			OR c.member_cap <= 0
			OR EXISTS (SELECT FROM members WHERE channel = $1 AND user_id = $2 AND role <> 'banned')
			OR (SELECT count(*) FROM members WHERE channel = $1 AND role <> 'banned') < c.member_cap)
		ON CONFLICT (channel, user_id) DO UPDATE SET role = EXCLUDED.role
		RETURNING `+memberCols, channel, user, string(role), now()).QueryRow(func(row pgx.Row) error {
		var err error
		m, err = scanMember(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		put = err == nil
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return chat.Member{}, fmt.Errorf("postgres: put member %q in %q: %w", user, channel, err)
	}
	switch {
	case !exists:
		return chat.Member{}, fmt.Errorf("postgres: put member %q in %q: %w", user, channel, chat.ErrNotFound)
	case !put:
		return chat.Member{}, fmt.Errorf("postgres: put member %q in %q: %w", user, channel, chat.ErrFull)
	}
	return m, nil
}

// Member reads one row by primary key (members_pkey).
func (s *Store) Member(ctx context.Context, channel, user string) (chat.Member, error) {
	m, err := scanMember(s.pool.QueryRow(ctx, `SELECT `+memberCols+` FROM members WHERE channel = $1 AND user_id = $2`, channel, user))
	if err != nil {
		return chat.Member{}, wrapNotFound(err, "member %q of %q", user, channel)
	}
	return m, nil
}

// RemoveMember deletes one row by primary key (members_pkey).
func (s *Store) RemoveMember(ctx context.Context, channel, user string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM members WHERE channel = $1 AND user_id = $2`, channel, user)
	if err != nil {
		return fmt.Errorf("postgres: remove member %q of %q: %w", user, channel, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: remove member %q of %q: %w", user, channel, chat.ErrNotFound)
	}
	return nil
}

// Members walks members_pkey from (channel, after). A limit ≤ 0 lists
// nobody.
func (s *Store) Members(ctx context.Context, channel, after string, limit int) ([]chat.Member, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+memberCols+` FROM members
		WHERE channel = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`, channel, after, limit)
	defer rows.Close()
	var out []chat.Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: members of %q: %w", channel, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: members of %q: %w", channel, err)
	}
	return out, nil
}

// MemberCount scans the channel's prefix of members_pkey. An unknown
// channel has 0 members.
func (s *Store) MemberCount(ctx context.Context, channel string) (int, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM members WHERE channel = $1 AND role <> 'banned'`, channel).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: member count of %q: %w", channel, err)
	}
	return int(n), nil
}

// MoveRead moves members.read_seq; see moveCursor.
func (s *Store) MoveRead(ctx context.Context, channel, user string, seq uint64) (uint64, bool, error) {
	return s.moveCursor(ctx, moveReadSQL, readSQL, channel, user, seq)
}

// MoveDelivered moves members.delivered_seq; see moveCursor.
func (s *Store) MoveDelivered(ctx context.Context, channel, user string, seq uint64) (uint64, bool, error) {
	return s.moveCursor(ctx, moveDeliveredSQL, deliveredSQL, channel, user, seq)
}

// The cursor statements. The update writes only when the cursor moves
// forward (the target is compared with the row's latest version, so two
// racing moves never move it back); it reads members_pkey and
// channels_pkey.
const (
	moveReadSQL = `UPDATE members m SET read_seq = LEAST($3::bigint, c.last_seq)
		FROM channels c
		WHERE m.channel = $1 AND m.user_id = $2 AND c.id = $1 AND LEAST($3::bigint, c.last_seq) > m.read_seq
		RETURNING m.read_seq`
	readSQL          = `SELECT read_seq FROM members WHERE channel = $1 AND user_id = $2`
	moveDeliveredSQL = `UPDATE members m SET delivered_seq = LEAST($3::bigint, c.last_seq)
		FROM channels c
		WHERE m.channel = $1 AND m.user_id = $2 AND c.id = $1 AND LEAST($3::bigint, c.last_seq) > m.delivered_seq
		RETURNING m.delivered_seq`
	deliveredSQL = `SELECT delivered_seq FROM members WHERE channel = $1 AND user_id = $2`
)

// moveCursor pipelines the conditional update and a read of the cursor in
// one implicit transaction (one round trip): the update's row reports a
// move, the read (which sees the update) the cursor when nothing moved, and
// no row a user who is not a member.
func (s *Store) moveCursor(ctx context.Context, moveSQL, readSQL, channel, user string, seq uint64) (uint64, bool, error) {
	target := int64(math.MaxInt64)
	if seq < math.MaxInt64 {
		target = int64(seq)
	}
	var (
		moved, member bool
		cursor        int64
	)
	b := &pgx.Batch{}
	b.Queue(moveSQL, channel, user, target).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&cursor)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		moved = err == nil
		return err
	})
	b.Queue(readSQL, channel, user).QueryRow(func(row pgx.Row) error {
		var c int64
		err := row.Scan(&c)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err == nil && !moved {
			cursor = c
		}
		member = err == nil
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return 0, false, fmt.Errorf("postgres: move cursor of %q in %q: %w", user, channel, err)
	}
	if !member {
		return 0, false, fmt.Errorf("postgres: move cursor of %q in %q: %w", user, channel, chat.ErrNotFound)
	}
	return uint64(cursor), moved, nil
}

// Unread walks members_user_channel in channel order and joins
// channels_pkey. Banned memberships are left out, as in ChannelsOf.
func (s *Store) Unread(ctx context.Context, user string) ([]chat.Unread, error) {
	rows, _ := s.pool.Query(ctx, `SELECT m.channel, c.last_seq, m.read_seq
		FROM members m JOIN channels c ON c.id = m.channel
		WHERE m.user_id = $1 AND m.role <> 'banned'
		ORDER BY m.channel`, user)
	defer rows.Close()
	var out []chat.Unread
	for rows.Next() {
		var (
			u             chat.Unread
			last, readSeq int64
		)
		if err := rows.Scan(&u.Channel, &last, &readSeq); err != nil {
			return nil, fmt.Errorf("postgres: unread of %q: %w", user, err)
		}
		u.LastSeq, u.ReadSeq = uint64(last), uint64(readSeq)
		if u.ReadSeq < u.LastSeq {
			u.Count = u.LastSeq - u.ReadSeq
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: unread of %q: %w", user, err)
	}
	return out, nil
}
