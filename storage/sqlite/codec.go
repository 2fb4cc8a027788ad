package sqlite

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/salamhq/salam/core/chat"
)

// How values are kept in the database: times as Unix microseconds (UTC);
// sequences as INTEGER (int64; a sequence never reaches 2^63); booleans as
// 0/1; attachments as a JSON array, NULL when none; reactions per user.

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros stores the zero time as NULL.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// seqArg converts a sequence argument, saturating at the largest INTEGER.
func seqArg(seq uint64) int64 {
	if seq > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(seq)
}

func boolArg(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func encodeAttachments(a []chat.Attachment) (any, error) {
	if len(a) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("sqlite: attachments: %w", err)
	}
	return string(b), nil
}

// contentHash digests what makes two appends of one (sender, client id)
// the same message: channel, content type, body, attachments and reply-to.
// Every field is length-prefixed, so no two contents share an encoding; a
// nil and an empty body are the same content.
func contentHash(m *chat.NewMessage) []byte {
	h := sha256.New()
	var n [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v uint64) {
		binary.BigEndian.PutUint64(n[:], v)
		h.Write(n[:])
	}
	str(m.Channel)
	str(m.ContentType)
	num(uint64(len(m.Body)))
	h.Write(m.Body)
	num(m.ReplyTo)
	num(uint64(len(m.Attachments)))
	for _, a := range m.Attachments {
		str(a.URL)
		str(a.Mime)
		num(uint64(a.Size))
		str(a.Name)
	}
	return h.Sum(nil)
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanChannel(r rowScanner) (chat.Channel, error) {
	var (
		ch               chat.Channel
		kind             string
		public, cap_, at int64
		last, open       int64
	)
	err := r.Scan(&ch.ID, &kind, &ch.Name, &ch.Topic, &public, &cap_, &ch.CreatedBy, &at, &last, &open)
	ch.Kind, ch.Public, ch.MemberCap, ch.Open = chat.Kind(kind), public != 0, int(cap_), open != 0
	ch.CreatedAt, ch.LastSeq = fromMicros(at), uint64(last)
	return ch, err
}

func scanMember(r rowScanner) (chat.Member, error) {
	var (
		m                    chat.Member
		role                 string
		joined, read, delivd int64
	)
	err := r.Scan(&m.Channel, &m.User, &role, &joined, &read, &delivd)
	m.Role, m.JoinedAt, m.ReadSeq, m.DeliveredSeq = chat.Role(role), fromMicros(joined), uint64(read), uint64(delivd)
	return m, err
}

// messageRow receives the columns of messageCols (and, for the
// idempotency lookup, content_hash).
type messageRow struct {
	m                      chat.Message
	seq, replyTo, created  int64
	edited                 sql.NullInt64
	deleted, pinned        int64
	attachments, reactions sql.NullString
	hash                   []byte
}

func (row *messageRow) dest(withHash bool) []any {
	d := []any{&row.m.Channel, &row.seq, &row.m.Sender, &row.m.ClientID, &row.m.ContentType, &row.m.Body,
		&row.attachments, &row.replyTo, &row.created, &row.edited, &row.deleted, &row.pinned, &row.reactions}
	if withHash {
		d = append(d, &row.hash)
	}
	return d
}

// message decodes the row scanned into row.dest.
func (row *messageRow) message() (chat.Message, error) {
	m := row.m
	m.Seq, m.ReplyTo, m.CreatedAt = uint64(row.seq), uint64(row.replyTo), fromMicros(row.created)
	if row.edited.Valid {
		m.EditedAt = fromMicros(row.edited.Int64)
	}
	m.Deleted, m.Pinned = row.deleted != 0, row.pinned != 0
	if m.Deleted {
		m.Body = nil
	}
	if row.attachments.Valid {
		if err := json.Unmarshal([]byte(row.attachments.String), &m.Attachments); err != nil {
			return m, fmt.Errorf("sqlite: message %s #%d: attachments: %w", m.Channel, m.Seq, err)
		}
	}
	if row.reactions.Valid && row.reactions.String != "{}" {
		if err := json.Unmarshal([]byte(row.reactions.String), &m.Reactions); err != nil {
			return m, fmt.Errorf("sqlite: message %s #%d: reactions: %w", m.Channel, m.Seq, err)
		}
	}
	return m, nil
}

func scanMessage(r rowScanner) (chat.Message, error) {
	var row messageRow
	if err := r.Scan(row.dest(false)...); err != nil {
		return chat.Message{}, err
	}
	return row.message()
}

// scanMessages reads every row of a message query.
func scanMessages(rows *sql.Rows, capacity int) ([]chat.Message, error) {
	defer rows.Close()
	out := make([]chat.Message, 0, capacity)
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
