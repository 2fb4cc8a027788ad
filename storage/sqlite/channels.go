package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/salamhq/salam/core/chat"
)

// CreateChannel implements chat.Store. The owner joins at ch.CreatedAt.
func (s *Store) CreateChannel(ctx context.Context, ch chat.Channel, owner string) (chat.Channel, error) {
	ch.CreatedAt = fromMicros(micros(ch.CreatedAt))
	ch.LastSeq = 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.ws.channelInsert).ExecContext(ctx, ch.ID, string(ch.Kind), ch.Name, ch.Topic,
			boolArg(ch.Public), ch.MemberCap, ch.CreatedBy, micros(ch.CreatedAt), boolArg(ch.Open))
		if err != nil {
			return fmt.Errorf("sqlite: create channel %q: %w", ch.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("sqlite: create channel %q: %w", ch.ID, chat.ErrExists)
		}
		if _, err := tx.StmtContext(ctx, s.ws.memberInsert).ExecContext(ctx, ch.ID, owner, string(chat.RoleOwner), micros(ch.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: create channel %q: owner: %w", ch.ID, err)
		}
		return nil
	})
	if err != nil {
		return chat.Channel{}, err
	}
	return ch, nil
}

// Channel implements chat.Store.
func (s *Store) Channel(ctx context.Context, id string) (chat.Channel, error) {
	ch, err := scanChannel(s.rs.channel.QueryRowContext(ctx, id))
	if err != nil {
		return chat.Channel{}, notFound(err, "channel %q", id)
	}
	return ch, nil
}

// UpdateChannel implements chat.Store.
func (s *Store) UpdateChannel(ctx context.Context, ch chat.Channel) (chat.Channel, error) {
	var out chat.Channel
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanChannel(tx.StmtContext(ctx, s.ws.channelUpdate).QueryRowContext(ctx,
			ch.Name, ch.Topic, boolArg(ch.Public), ch.MemberCap, boolArg(ch.Open), ch.ID))
		return notFound(err, "update channel %q", ch.ID)
	})
	if err != nil {
		return chat.Channel{}, err
	}
	return out, nil
}

// DeleteChannel implements chat.Store. Members, messages and reactions go
// with the channel (ON DELETE CASCADE), in one transaction.
func (s *Store) DeleteChannel(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.ws.channelDelete).ExecContext(ctx, id)
		if err != nil {
			return fmt.Errorf("sqlite: delete channel %q: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("sqlite: delete channel %q: %w", id, chat.ErrNotFound)
		}
		return nil
	})
}

// ChannelsOf implements chat.Store.
func (s *Store) ChannelsOf(ctx context.Context, user string) ([]chat.Channel, error) {
	rows, err := s.rs.channelsOf.QueryContext(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("sqlite: channels of %q: %w", user, err)
	}
	defer rows.Close()
	var out []chat.Channel
	for rows.Next() {
		ch, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: channels of %q: %w", user, err)
		}
		out = append(out, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: channels of %q: %w", user, err)
	}
	return out, nil
}

// notFound wraps err for the operation described by format and args,
// turning sql.ErrNoRows into chat.ErrNotFound; nil stays nil.
func notFound(err error, format string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		err = chat.ErrNotFound
	}
	return fmt.Errorf("sqlite: "+format+": %w", append(args, err)...)
}
