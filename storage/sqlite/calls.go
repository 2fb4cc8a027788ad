package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/salamhq/salam/core/calls"
)

var _ calls.Store = (*Store)(nil)

const callCols = `id, channel, caller, node, sfu, created_at, answered_at, ended_at, end_reason`

// CreateCall implements calls.Store.
func (s *Store) CreateCall(ctx context.Context, c calls.Call) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO calls (`+callCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, c.ID, c.Channel, c.Caller, c.Node, boolArg(c.SFU), micros(c.CreatedAt),
			nullMicros(c.AnsweredAt), nullMicros(c.EndedAt), string(c.EndReason))
		if err != nil {
			return fmt.Errorf("sqlite: create call %q: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sqlite: create call %q: %w", c.ID, calls.ErrExists)
		}
		for i, p := range c.Participants {
			if _, err := tx.ExecContext(ctx, `INSERT INTO call_participants (call, user, ord, joined_at, left_at)
				VALUES (?, ?, ?, ?, ?)`, c.ID, p.User, i, micros(p.JoinedAt), nullMicros(p.LeftAt)); err != nil {
				return fmt.Errorf("sqlite: create call %q: participant: %w", c.ID, err)
			}
		}
		return nil
	})
}

// callState reads whether a call exists and has ended, inside tx.
func callState(ctx context.Context, tx *sql.Tx, id string) (caller string, ended bool, err error) {
	var endedAt sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT caller, ended_at FROM calls WHERE id = ?`, id).Scan(&caller, &endedAt)
	if errors.Is(err, sql.ErrNoRows) {
		err = calls.ErrNotFound
	}
	return caller, endedAt.Valid, err
}

// JoinCall implements calls.Store.
func (s *Store) JoinCall(ctx context.Context, id, user string, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		caller, ended, err := callState(ctx, tx, id)
		switch {
		case err != nil:
			return err
		case ended:
			return calls.ErrEnded
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO call_participants (call, user, ord, joined_at)
			VALUES (?1, ?2, (SELECT count(*) FROM call_participants WHERE call = ?1), ?3)
			ON CONFLICT (call, user) DO UPDATE SET left_at = NULL`, id, user, micros(at)); err != nil {
			return err
		}
		if user != caller {
			_, err = tx.ExecContext(ctx, `UPDATE calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL`, micros(at), id)
		}
		return err
	})
	return wrapCall(err, "join call %q", id)
}

// LeaveCall implements calls.Store.
func (s *Store) LeaveCall(ctx context.Context, id, user string, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE call_participants SET left_at = coalesce(left_at, ?)
			WHERE call = ? AND user = ?`, micros(at), id, user)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return calls.ErrNotFound
		}
		return nil
	})
	return wrapCall(err, "leave call %q", id)
}

// EscalateCall implements calls.Store.
func (s *Store) EscalateCall(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE calls SET sfu = 1 WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return calls.ErrNotFound
		}
		return nil
	})
	return wrapCall(err, "escalate call %q", id)
}

// EndCall implements calls.Store.
func (s *Store) EndCall(ctx context.Context, id string, reason calls.EndReason, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, ended, err := callState(ctx, tx, id)
		if err != nil || ended {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE calls SET ended_at = ?, end_reason = ? WHERE id = ?`,
			micros(at), string(reason), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE call_participants SET left_at = ? WHERE call = ? AND left_at IS NULL`, micros(at), id)
		return err
	})
	return wrapCall(err, "end call %q", id)
}

// Call implements calls.Store.
func (s *Store) Call(ctx context.Context, id string) (calls.Call, error) {
	cs, err := s.queryCalls(ctx, `SELECT `+callCols+` FROM calls WHERE id = ?`, id)
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
		return s.queryCalls(ctx, `SELECT `+callCols+` FROM calls WHERE channel = ?
			ORDER BY created_at DESC, id DESC LIMIT ?`, p.Channel, p.Limit)
	}
	return s.queryCalls(ctx, `SELECT `+callCols+` FROM calls WHERE channel = ?1 AND (created_at, id) < (?2, ?3)
		ORDER BY created_at DESC, id DESC LIMIT ?4`, p.Channel, micros(p.Before), p.BeforeID, p.Limit)
}

// ActiveCalls implements calls.Store.
func (s *Store) ActiveCalls(ctx context.Context, node string) ([]calls.Call, error) {
	return s.queryCalls(ctx, `SELECT `+callCols+` FROM calls WHERE node = ? AND ended_at IS NULL ORDER BY id`, node)
}

// queryCalls reads calls and then their participants, from one snapshot.
func (s *Store) queryCalls(ctx context.Context, query string, args ...any) ([]calls.Call, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: calls: %w", err)
	}
	var out []calls.Call
	index := map[string]int{}
	for rows.Next() {
		var c calls.Call
		var created int64
		var answered, ended sql.NullInt64
		var sfu int64
		var reason string
		if err := rows.Scan(&c.ID, &c.Channel, &c.Caller, &c.Node, &sfu, &created, &answered, &ended, &reason); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: calls: %w", err)
		}
		c.SFU, c.CreatedAt, c.EndReason = sfu != 0, fromMicros(created), calls.EndReason(reason)
		c.AnsweredAt, c.EndedAt = optMicros(answered), optMicros(ended)
		index[c.ID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, 0, len(out))
	for _, c := range out {
		ids = append(ids, c.ID)
	}
	rows, err = tx.QueryContext(ctx, `SELECT call, user, joined_at, left_at FROM call_participants
		WHERE call IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY call, ord`, ids...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: call participants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var p calls.Participant
		var joined int64
		var left sql.NullInt64
		if err := rows.Scan(&id, &p.User, &joined, &left); err != nil {
			return nil, fmt.Errorf("sqlite: call participants: %w", err)
		}
		p.JoinedAt, p.LeftAt = fromMicros(joined), optMicros(left)
		c := &out[index[id]]
		c.Participants = append(c.Participants, p)
	}
	return out, rows.Err()
}

func optMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func wrapCall(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlite: "+format+": %w", append(args, err)...)
}
