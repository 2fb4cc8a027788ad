package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/salamhq/salam/core/calls"
)

var _ calls.Store = (*Store)(nil)

const callCols = `id, channel, caller, node, sfu, created_at, answered_at, ended_at, end_reason`

// optTime stores the zero time as NULL.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = dbTime(t)
	return &t
}

// CreateCall implements calls.Store.
func (s *Store) CreateCall(ctx context.Context, c calls.Call) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO calls (`+callCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.ID, c.Channel, c.Caller,
		c.Node, c.SFU, dbTime(c.CreatedAt), optTime(c.AnsweredAt), optTime(c.EndedAt), string(c.EndReason))
	for i, p := range c.Participants {
		b.Queue(`INSERT INTO call_participants (call_id, user_id, ord, joined_at, left_at) VALUES ($1, $2, $3, $4, $5)`,
			c.ID, p.User, i, dbTime(p.JoinedAt), optTime(p.LeftAt))
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		if isUniqueViolation(err, "calls_pkey") {
			return fmt.Errorf("postgres: create call %q: %w", c.ID, calls.ErrExists)
		}
		return fmt.Errorf("postgres: create call %q: %w", c.ID, err)
	}
	return nil
}

// lockCall locks a call's row in tx and reports its caller and whether it ended.
func lockCall(ctx context.Context, tx pgx.Tx, id string) (caller string, ended bool, err error) {
	var endedAt *time.Time
	err = tx.QueryRow(ctx, `SELECT caller, ended_at FROM calls WHERE id = $1 FOR UPDATE`, id).Scan(&caller, &endedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		err = calls.ErrNotFound
	}
	return caller, endedAt != nil, err
}

// JoinCall implements calls.Store.
func (s *Store) JoinCall(ctx context.Context, id, user string, at time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		caller, ended, err := lockCall(ctx, tx, id)
		switch {
		case err != nil:
			return err
		case ended:
			return calls.ErrEnded
		}
		if _, err := tx.Exec(ctx, `INSERT INTO call_participants (call_id, user_id, ord, joined_at)
			VALUES ($1, $2, (SELECT count(*) FROM call_participants WHERE call_id = $1), $3)
			ON CONFLICT (call_id, user_id) DO UPDATE SET left_at = NULL`, id, user, dbTime(at)); err != nil {
			return err
		}
		if user != caller {
			_, err = tx.Exec(ctx, `UPDATE calls SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL`, dbTime(at), id)
		}
		return err
	})
	return wrapCall(err, "join call %q", id)
}

// exec runs one statement and maps "no row changed" to calls.ErrNotFound.
func (s *Store) execCall(ctx context.Context, what, id, sql string, args ...any) error {
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err == nil && tag.RowsAffected() == 0 {
		err = calls.ErrNotFound
	}
	return wrapCall(err, what+" %q", id)
}

// LeaveCall implements calls.Store.
func (s *Store) LeaveCall(ctx context.Context, id, user string, at time.Time) error {
	return s.execCall(ctx, "leave call", id, `UPDATE call_participants SET left_at = coalesce(left_at, $1)
		WHERE call_id = $2 AND user_id = $3`, dbTime(at), id, user)
}

// EscalateCall implements calls.Store.
func (s *Store) EscalateCall(ctx context.Context, id string) error {
	return s.execCall(ctx, "escalate call", id, `UPDATE calls SET sfu = true WHERE id = $1`, id)
}

// EndCall implements calls.Store.
func (s *Store) EndCall(ctx context.Context, id string, reason calls.EndReason, at time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, ended, err := lockCall(ctx, tx, id)
		if err != nil || ended {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE calls SET ended_at = $1, end_reason = $2 WHERE id = $3`,
			dbTime(at), string(reason), id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE call_participants SET left_at = $1 WHERE call_id = $2 AND left_at IS NULL`, dbTime(at), id)
		return err
	})
	return wrapCall(err, "end call %q", id)
}

// Call implements calls.Store.
func (s *Store) Call(ctx context.Context, id string) (calls.Call, error) {
	cs, err := s.queryCalls(ctx, `SELECT `+callCols+` FROM calls WHERE id = $1`, id)
	if err == nil && len(cs) == 0 {
		err = calls.ErrNotFound
	}
	if err != nil {
		return calls.Call{}, wrapCall(err, "call %q", id)
	}
	return cs[0], nil
}

// ChannelCalls implements calls.Store.
func (s *Store) ChannelCalls(ctx context.Context, p calls.Page) ([]calls.Call, error) {
	if p.Before.IsZero() {
		return s.queryCalls(ctx, `SELECT `+callCols+` FROM calls WHERE channel = $1
			ORDER BY created_at DESC, id DESC LIMIT $2`, p.Channel, p.Limit)
	}
	return s.queryCalls(ctx, `SELECT `+callCols+` FROM calls WHERE channel = $1 AND (created_at, id) < ($2, $3)
		ORDER BY created_at DESC, id DESC LIMIT $4`, p.Channel, dbTime(p.Before), p.BeforeID, p.Limit)
}

// ActiveCalls implements calls.Store.
func (s *Store) ActiveCalls(ctx context.Context, node string) ([]calls.Call, error) {
	return s.queryCalls(ctx, `SELECT `+callCols+` FROM calls WHERE node = $1 AND ended_at IS NULL ORDER BY id`, node)
}

// queryCalls reads calls, then their participants, in one repeatable-read
// snapshot.
func (s *Store) queryCalls(ctx context.Context, query string, args ...any) ([]calls.Call, error) {
	var out []calls.Call
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, query, args...)
		var err error
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (calls.Call, error) {
			var c calls.Call
			var answered, ended *time.Time
			var reason string
			err := row.Scan(&c.ID, &c.Channel, &c.Caller, &c.Node, &c.SFU, &c.CreatedAt, &answered, &ended, &reason)
			c.CreatedAt, c.EndReason = c.CreatedAt.UTC(), calls.EndReason(reason)
			c.AnsweredAt, c.EndedAt = fromOpt(answered), fromOpt(ended)
			return c, err
		})
		if err != nil || len(out) == 0 {
			return err
		}
		ids := make([]string, len(out))
		index := make(map[string]int, len(out))
		for i, c := range out {
			ids[i], index[c.ID] = c.ID, i
		}
		rows, _ = tx.Query(ctx, `SELECT call_id, user_id, joined_at, left_at FROM call_participants
			WHERE call_id = ANY($1) ORDER BY call_id, ord`, ids)
		var id string
		var p calls.Participant
		var left *time.Time
		_, err = pgx.ForEachRow(rows, []any{&id, &p.User, &p.JoinedAt, &left}, func() error {
			p.JoinedAt, p.LeftAt = p.JoinedAt.UTC(), fromOpt(left)
			c := &out[index[id]]
			c.Participants = append(c.Participants, p)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: calls: %w", err)
	}
	return out, nil
}

func fromOpt(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func wrapCall(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("postgres: "+format+": %w", append(args, err)...)
}
