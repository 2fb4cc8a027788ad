package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/salamhq/salam/core/chat"
)

const channelCols = `c.id, c.kind, c.name, c.topic, c.public, c.member_cap, c.created_by, c.created_at, c.last_seq, c.open`

func scanChannel(row pgx.Row) (chat.Channel, error) {
	var (
		c         chat.Channel
		kind      string
		memberCap int32
		lastSeq   int64
	)
	if err := row.Scan(&c.ID, &kind, &c.Name, &c.Topic, &c.Public, &memberCap, &c.CreatedBy, &c.CreatedAt, &lastSeq, &c.Open); err != nil {
		return chat.Channel{}, err
	}
	c.Kind = chat.Kind(kind)
	c.MemberCap = int(memberCap)
	c.CreatedAt = c.CreatedAt.UTC()
	c.LastSeq = uint64(lastSeq)
	return c, nil
}

// CreateChannel inserts the channel and its owner's membership in one
// implicit transaction (one pipelined round trip). A zero ch.CreatedAt is
// set to now; the owner's JoinedAt is now, as for any member.
func (s *Store) CreateChannel(ctx context.Context, ch chat.Channel, owner string) (chat.Channel, error) {
	ch.CreatedAt = orNow(ch.CreatedAt)
	ch.LastSeq = 0
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO channels (id, kind, name, topic, public, member_cap, created_by, created_at, open)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		ch.ID, string(ch.Kind), ch.Name, ch.Topic, ch.Public, ch.MemberCap, ch.CreatedBy, ch.CreatedAt, ch.Open)
	b.Queue(`INSERT INTO members (channel, user_id, role, joined_at) VALUES ($1, $2, $3, $4)`,
		ch.ID, owner, string(chat.RoleOwner), now())
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		if isUniqueViolation(err, "channels_pkey") {
			return chat.Channel{}, fmt.Errorf("postgres: create channel %q: %w", ch.ID, chat.ErrExists)
		}
		return chat.Channel{}, fmt.Errorf("postgres: create channel %q: %w", ch.ID, err)
	}
	return ch, nil
}

// Channel reads one row by primary key (channels_pkey).
func (s *Store) Channel(ctx context.Context, id string) (chat.Channel, error) {
	c, err := scanChannel(s.pool.QueryRow(ctx, `SELECT `+channelCols+` FROM channels c WHERE c.id = $1`, id))
	if err != nil {
		return chat.Channel{}, wrapNotFound(err, "channel %q", id)
	}
	return c, nil
}

// UpdateChannel updates one row by primary key (channels_pkey). Its row
// lock orders it with PutMember's cap check.
func (s *Store) UpdateChannel(ctx context.Context, ch chat.Channel) (chat.Channel, error) {
	c, err := scanChannel(s.pool.QueryRow(ctx, `UPDATE channels c
		SET name = $2, topic = $3, public = $4, member_cap = $5, open = $6
		WHERE c.id = $1
		RETURNING `+channelCols, ch.ID, ch.Name, ch.Topic, ch.Public, ch.MemberCap, ch.Open))
	if err != nil {
		return chat.Channel{}, wrapNotFound(err, "update channel %q", ch.ID)
	}
	return c, nil
}

// DeleteChannel pipelines two statements in one implicit transaction: the
// deletion of the channel row (channels_pkey), which takes its lock (and so
// waits for appends in flight) and deletes its members (ON DELETE CASCADE,
// members_pkey); then the deletion of its messages (messages_pkey prefix;
// their reactions go by ON DELETE CASCADE, reactions_pkey), which starts
// after the lock is held and so sees every message committed to the
// channel. An Append that waits for the lock finds the channel gone.
func (s *Store) DeleteChannel(ctx context.Context, id string) error {
	var deleted int64
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM channels WHERE id = $1`, id).Exec(func(tag pgconn.CommandTag) error {
		deleted = tag.RowsAffected()
		return nil
	})
	b.Queue(`DELETE FROM messages WHERE channel = $1`, id)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: delete channel %q: %w", id, err)
	}
	if deleted == 0 {
		return fmt.Errorf("postgres: delete channel %q: %w", id, chat.ErrNotFound)
	}
	return nil
}

// ChannelsOf walks members_user_channel in channel order and joins
// channels_pkey.
func (s *Store) ChannelsOf(ctx context.Context, user string) ([]chat.Channel, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+channelCols+`
		FROM members m JOIN channels c ON c.id = m.channel
		WHERE m.user_id = $1 AND m.role <> 'banned'
		ORDER BY m.channel`, user)
	defer rows.Close()
	var out []chat.Channel
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: channels of %q: %w", user, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: channels of %q: %w", user, err)
	}
	return out, nil
}

// wrapNotFound turns pgx.ErrNoRows into chat.ErrNotFound and prefixes what
// (a format and its arguments) to any error.
func wrapNotFound(err error, what string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		err = chat.ErrNotFound
	}
	return fmt.Errorf("postgres: "+what+": %w", append(args, err)...)
}
