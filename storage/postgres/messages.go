package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/salamhq/salam/core/chat"
)

// messageCols and reactionsJoin read a message row m with its reaction
// counts. The lateral subquery groups the message's reactions
// (reactions_pkey prefix (channel, seq)) into two parallel arrays, NULL
// when there are none.
const (
	messageCols = `m.channel, m.seq, m.sender, m.client_id, m.content_type, m.body, m.attachments,
		m.reply_to, m.created_at, m.edited_at, m.deleted, m.pinned, r.emojis, r.counts`
	reactionsJoin = ` LEFT JOIN LATERAL (
		SELECT array_agg(g.emoji) AS emojis, array_agg(g.n) AS counts
		FROM (SELECT emoji, count(*) AS n FROM reactions WHERE channel = m.channel AND seq = m.seq GROUP BY emoji) g
	) r ON true`
)

// scanMessage scans messageCols.
func scanMessage(row pgx.Row) (chat.Message, error) {
	var (
		m            chat.Message
		seq, replyTo int64
		atts         []byte
		edited       pgtype.Timestamptz
		emojis       []string
		counts       []int64
	)
	err := row.Scan(&m.Channel, &seq, &m.Sender, &m.ClientID, &m.ContentType, &m.Body, &atts,
		&replyTo, &m.CreatedAt, &edited, &m.Deleted, &m.Pinned, &emojis, &counts)
	if err != nil {
		return chat.Message{}, err
	}
	m.Seq, m.ReplyTo = uint64(seq), uint64(replyTo)
	m.CreatedAt = m.CreatedAt.UTC()
	if edited.Valid {
		m.EditedAt = edited.Time.UTC()
	}
	if len(m.Body) == 0 {
		m.Body = nil
	}
	if m.Attachments, err = decodeAttachments(atts); err != nil {
		return chat.Message{}, err
	}
	m.Reactions = reactionMap(emojis, counts)
	return m, nil
}

func reactionMap(emojis []string, counts []int64) map[string]int {
	if len(emojis) == 0 {
		return nil
	}
	r := make(map[string]int, len(emojis))
	for i, e := range emojis {
		r[e] = int(counts[i])
	}
	return r
}

// encodeAttachments returns the JSON of a, or "" (stored as NULL) when a is
// empty.
func encodeAttachments(a []chat.Attachment) (string, error) {
	if len(a) == 0 {
		return "", nil
	}
	b, err := json.Marshal(a)
	return string(b), err
}

func decodeAttachments(b []byte) ([]chat.Attachment, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var a []chat.Attachment
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	if len(a) == 0 {
		return nil, nil
	}
	return a, nil
}

// Message reads one row by primary key (messages_pkey).
func (s *Store) Message(ctx context.Context, channel string, seq uint64) (chat.Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages m`+reactionsJoin+`
		WHERE m.channel = $1 AND m.seq = $2`, channel, seqArg(seq)))
	if err != nil {
		return chat.Message{}, wrapNotFound(err, "message %d of %q", seq, channel)
	}
	return m, nil
}

// seqArg converts a sequence to its column type; a sequence beyond bigint
// matches nothing anyway.
func seqArg(seq uint64) int64 {
	if seq > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(seq)
}

// History statements: each is a range scan of messages_pkey from the
// anchor, limited to one row more than the page to learn whether more
// exist; reactions are read for the rows returned only.
const (
	historyBeforeSQL = `SELECT ` + messageCols + ` FROM (
		SELECT * FROM messages WHERE channel = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3
	) m` + reactionsJoin + ` ORDER BY m.seq DESC`
	historyAfterSQL = `SELECT ` + messageCols + ` FROM (
		SELECT * FROM messages WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT $3
	) m` + reactionsJoin + ` ORDER BY m.seq`
	// Around scans both ways from the anchor: $3 rows up to it and $4
	// after it, oldest first.
	historyAroundSQL = `SELECT ` + messageCols + ` FROM (
		(SELECT * FROM messages WHERE channel = $1 AND seq <= $2 ORDER BY seq DESC LIMIT $3)
		UNION ALL
		(SELECT * FROM messages WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT $4)
	) m` + reactionsJoin + ` ORDER BY m.seq`
)

// History returns a page of q.Channel's messages. Before, After or Around
// anchor the page (setting more than one is ErrInvalidQuery); none anchors
// it after the newest message. The page holds the messages
// nearest the anchor (Oldest changes only their order), and more reports
// messages beyond the page in its direction: older ones for Before and for
// no anchor, newer ones for After, either side for Around.
//
// An Around page holds ⌈Limit/2⌉ messages with Seq ≤ Around and ⌊Limit/2⌋
// with Seq > Around; near either end of the channel it is shorter, not
// shifted (the reading storage/chattest pins). Limit is clamped to
// 1–MaxHistoryLimit. An unknown channel has no messages.
func (s *Store) History(ctx context.Context, q chat.HistoryQuery) ([]chat.Message, bool, error) {
	if anchors := btoi(q.Before > 0) + btoi(q.After > 0) + btoi(q.Around > 0); anchors > 1 {
		return nil, false, fmt.Errorf("%w: %d of before, after and around set", ErrInvalidQuery, anchors)
	}
	limit := min(max(q.Limit, 1), chat.MaxHistoryLimit)
	var (
		rows   pgx.Rows
		newest bool // rows come newest-first
	)
	switch {
	case q.Around > 0:
		rows, _ = s.pool.Query(ctx, historyAroundSQL, q.Channel, seqArg(q.Around), (limit+1)/2+1, limit/2+1)
	case q.Before > 0:
		rows, _ = s.pool.Query(ctx, historyBeforeSQL, q.Channel, seqArg(q.Before), limit+1)
		newest = true
	case q.After > 0:
		rows, _ = s.pool.Query(ctx, historyAfterSQL, q.Channel, seqArg(q.After), limit+1)
	default:
		rows, _ = s.pool.Query(ctx, historyBeforeSQL, q.Channel, int64(math.MaxInt64), limit+1)
		newest = true
	}
	msgs, err := collectMessages(rows)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: history of %q: %w", q.Channel, err)
	}
	var more bool
	if q.Around > 0 {
		msgs, more = aroundPage(msgs, q.Around, limit)
	} else if len(msgs) > limit {
		msgs, more = msgs[:limit], true
	}
	if newest != !q.Oldest {
		slices.Reverse(msgs)
	}
	return msgs, more, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// aroundPage cuts the page from msgs, which holds (oldest first) up to
// ⌈limit/2⌉+1 messages with Seq ≤ around and up to ⌊limit/2⌋+1 after it.
func aroundPage(msgs []chat.Message, around uint64, limit int) ([]chat.Message, bool) {
	split := sort.Search(len(msgs), func(i int) bool { return msgs[i].Seq > around })
	older, newer := split, len(msgs)-split
	takeOlder, takeNewer := min((limit+1)/2, older), min(limit/2, newer)
	return msgs[split-takeOlder : split+takeNewer], takeOlder < older || takeNewer < newer
}

func collectMessages(rows pgx.Rows) ([]chat.Message, error) {
	defer rows.Close()
	var out []chat.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Edit pipelines, in one implicit transaction, the update of a live row
// (messages_pkey; its row lock orders it with Delete and React) and a read
// of the row's tombstone flag, which tells ErrDeleted from ErrNotFound when
// nothing was updated. A zero at is set to now.
func (s *Store) Edit(ctx context.Context, channel string, seq uint64, contentType string, body []byte, at time.Time) (chat.Message, error) {
	var (
		m               chat.Message
		edited, present bool
		deleted         bool
	)
	b := &pgx.Batch{}
	b.Queue(`WITH m AS (
			UPDATE messages SET content_type = $3, body = $4, edited_at = $5
			WHERE channel = $1 AND seq = $2 AND NOT deleted
			RETURNING *
		)
		SELECT `+messageCols+` FROM m`+reactionsJoin,
		channel, seqArg(seq), contentType, body, orNow(at)).QueryRow(func(row pgx.Row) error {
		var err error
		m, err = scanMessage(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		edited = err == nil
		return err
	})
	b.Queue(`SELECT deleted FROM messages WHERE channel = $1 AND seq = $2`, channel, seqArg(seq)).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&deleted)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		present = err == nil
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return chat.Message{}, fmt.Errorf("postgres: edit message %d of %q: %w", seq, channel, err)
	}
	switch {
	case edited:
		return m, nil
	case present && deleted:
		return chat.Message{}, fmt.Errorf("postgres: edit message %d of %q: %w", seq, channel, chat.ErrDeleted)
	}
	return chat.Message{}, fmt.Errorf("postgres: edit message %d of %q: %w", seq, channel, chat.ErrNotFound)
}

// Delete pipelines three statements in one implicit transaction: the
// tombstone update (messages_pkey; a no-op for a tombstone), the deletion of
// the message's reactions (reactions_pkey prefix) and the read of the
// result. The reactions are deleted by a statement of their own, which
// starts after the update holds the row lock, so that it also sees a
// reaction that a concurrent React committed while Delete waited for the
// lock.
func (s *Store) Delete(ctx context.Context, channel string, seq uint64) (chat.Message, error) {
	var (
		m     chat.Message
		found bool
	)
	b := &pgx.Batch{}
	b.Queue(`UPDATE messages SET body = NULL, attachments = NULL, deleted = true
		WHERE channel = $1 AND seq = $2 AND NOT deleted`, channel, seqArg(seq))
	b.Queue(`DELETE FROM reactions WHERE channel = $1 AND seq = $2`, channel, seqArg(seq))
	b.Queue(`SELECT `+messageCols+` FROM messages m`+reactionsJoin+`
		WHERE m.channel = $1 AND m.seq = $2`, channel, seqArg(seq)).QueryRow(func(row pgx.Row) error {
		var err error
		m, err = scanMessage(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return chat.Message{}, fmt.Errorf("postgres: delete message %d of %q: %w", seq, channel, err)
	}
	if !found {
		return chat.Message{}, fmt.Errorf("postgres: delete message %d of %q: %w", seq, channel, chat.ErrNotFound)
	}
	return m, nil
}

// React pipelines three statements in one implicit transaction: a FOR
// SHARE lock on the message row (messages_pkey), which waits for a
// concurrent Delete or Edit and reports a missing or deleted message; the
// insert or delete of the reaction (reactions_pkey), guarded again by a
// fresh read of the tombstone flag; and the count of the message's
// reactions (reactions_pkey prefix).
func (s *Store) React(ctx context.Context, channel string, seq uint64, user, emoji string, add bool) (map[string]int, error) {
	var (
		present, deleted bool
		counts           map[string]int
	)
	b := &pgx.Batch{}
	b.Queue(`SELECT deleted FROM messages WHERE channel = $1 AND seq = $2 FOR SHARE`, channel, seqArg(seq)).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&deleted)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		present = err == nil
		return err
	})
	if add {
		b.Queue(`INSERT INTO reactions (channel, seq, user_id, emoji)
			SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT FROM messages WHERE channel = $1 AND seq = $2 AND NOT deleted)
			ON CONFLICT DO NOTHING`, channel, seqArg(seq), user, emoji)
	} else {
		b.Queue(`DELETE FROM reactions WHERE channel = $1 AND seq = $2 AND user_id = $3 AND emoji = $4`,
			channel, seqArg(seq), user, emoji)
	}
	b.Queue(`SELECT array_agg(emoji), array_agg(n) FROM (
			SELECT emoji, count(*) AS n FROM reactions WHERE channel = $1 AND seq = $2 GROUP BY emoji
		) g`, channel, seqArg(seq)).QueryRow(func(row pgx.Row) error {
		var (
			emojis []string
			ns     []int64
		)
		if err := row.Scan(&emojis, &ns); err != nil {
			return err
		}
		counts = reactionMap(emojis, ns)
		return nil
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("postgres: react to message %d of %q: %w", seq, channel, err)
	}
	switch {
	case !present:
		return nil, fmt.Errorf("postgres: react to message %d of %q: %w", seq, channel, chat.ErrNotFound)
	case deleted:
		return nil, fmt.Errorf("postgres: react to message %d of %q: %w", seq, channel, chat.ErrDeleted)
	}
	return counts, nil
}

// Pin updates one row by primary key (messages_pkey); messages_pinned
// follows.
func (s *Store) Pin(ctx context.Context, channel string, seq uint64, pinned bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE messages SET pinned = $3 WHERE channel = $1 AND seq = $2`, channel, seqArg(seq), pinned)
	if err != nil {
		return fmt.Errorf("postgres: pin message %d of %q: %w", seq, channel, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: pin message %d of %q: %w", seq, channel, chat.ErrNotFound)
	}
	return nil
}

// Pinned walks the partial index messages_pinned.
func (s *Store) Pinned(ctx context.Context, channel string) ([]chat.Message, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages m`+reactionsJoin+`
		WHERE m.channel = $1 AND m.pinned ORDER BY m.seq`, channel)
	msgs, err := collectMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: pinned of %q: %w", channel, err)
	}
	return msgs, nil
}
