package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/salamhq/salam/core/chat"
)

// Append implements chat.Store in one write transaction per batch:
//
//  1. classify each message in order: a duplicate or conflict of a message
//     already stored (looked up by its unique (sender, client_id)) or of an
//     earlier message of the batch, not found (its channel does not exist),
//     or new;
//  2. per channel, reserve the sequences of its new messages with one
//     UPDATE … SET last_seq = last_seq + k RETURNING last_seq;
//  3. insert the new messages with multi-row INSERTs;
//  4. commit.
//
// Sequences are gap-free because the increment and the rows commit
// together or not at all, and the write lock is held from the first
// statement, so no other writer (of this or another process) interleaves.
//
// The Message of a new result shares Body and Attachments with msgs.
func (s *Store) Append(ctx context.Context, msgs []chat.NewMessage) ([]chat.AppendResult, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	b := appendBatch{msgs: msgs, res: make([]chat.AppendResult, len(msgs)), hashes: make([][]byte, len(msgs))}
	for i := range msgs {
		b.hashes[i] = contentHash(&msgs[i])
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := b.classify(ctx, tx, s); err != nil {
			return err
		}
		if err := b.reserve(ctx, tx, s); err != nil {
			return err
		}
		return b.insert(ctx, tx, s)
	})
	if err != nil {
		return nil, err
	}
	for i, j := range b.dupOf {
		if j >= 0 {
			b.res[i] = chat.AppendResult{Message: b.res[j].Message, Duplicate: true}
		}
	}
	return b.res, nil
}

// appendBatch is the state of one Append while its transaction runs.
type appendBatch struct {
	msgs   []chat.NewMessage
	res    []chat.AppendResult
	hashes [][]byte
	// dupOf[i] is the index of the earlier new message of the batch that
	// message i repeats, or -1.
	dupOf []int
	// fresh lists the new messages per channel, channels in order of first
	// appearance.
	fresh    map[string][]int
	channels []string
	// newCount is the number of new messages.
	newCount int
}

// msgKey is the idempotency key of a message.
type msgKey struct{ sender, clientID string }

func (b *appendBatch) classify(ctx context.Context, tx *sql.Tx, s *Store) error {
	stored, err := b.lookup(ctx, tx, s)
	if err != nil {
		return err
	}
	chanCap := tx.StmtContext(ctx, s.ws.channelCap)
	defer chanCap.Close()
	first := make(map[msgKey]int, len(b.msgs)) // key → index of its new message in the batch
	known := make(map[string]bool)             // channel → exists
	b.dupOf = make([]int, len(b.msgs))
	b.fresh = make(map[string][]int)
	for i := range b.msgs {
		m := &b.msgs[i]
		b.dupOf[i] = -1
		k := msgKey{m.Sender, m.ClientID}
		if j, ok := first[k]; ok {
			if bytes.Equal(b.hashes[i], b.hashes[j]) {
				b.dupOf[i] = j
			} else {
				b.res[i].Err = conflict(m)
			}
			continue
		}
		if row, ok := stored[k]; ok {
			if !bytes.Equal(b.hashes[i], row.hash) {
				b.res[i].Err = conflict(m)
				continue
			}
			msg, err := row.message()
			if err != nil {
				return err
			}
			b.res[i] = chat.AppendResult{Message: msg, Duplicate: true}
			continue
		}
		exists, seen := known[m.Channel]
		if !seen {
			var memberCap int
			switch err := chanCap.QueryRowContext(ctx, m.Channel).Scan(&memberCap); {
			case err == nil:
				exists = true
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("sqlite: append: channel %q: %w", m.Channel, err)
			}
			known[m.Channel] = exists
		}
		if !exists {
			b.res[i].Err = fmt.Errorf("sqlite: append to channel %q: %w", m.Channel, chat.ErrNotFound)
			continue
		}
		first[k] = i
		if _, ok := b.fresh[m.Channel]; !ok {
			b.channels = append(b.channels, m.Channel)
		}
		b.fresh[m.Channel] = append(b.fresh[m.Channel], i)
		b.newCount++
	}
	return nil
}

// lookup finds the stored messages with the keys of the batch, up to 64
// keys per query; a chunk is padded to a power of two by repeating its
// last key, so that one of a few prepared statements fits it.
func (b *appendBatch) lookup(ctx context.Context, tx *sql.Tx, s *Store) (map[msgKey]*messageRow, error) {
	const chunk = 1 << (insertSizes - 1)
	var stored map[msgKey]*messageRow
	args := make([]any, 0, 2*min(len(b.msgs), chunk))
	for from := 0; from < len(b.msgs); from += chunk {
		part := b.msgs[from:min(from+chunk, len(b.msgs))]
		size := 0
		for 1<<size < len(part) {
			size++
		}
		args = args[:0]
		for i := range 1 << size {
			m := &part[min(i, len(part)-1)]
			args = append(args, m.Sender, m.ClientID)
		}
		st := tx.StmtContext(ctx, s.ws.byKeys[size])
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("sqlite: append: look up client ids: %w", err)
		}
		for rows.Next() {
			row := new(messageRow)
			if err := rows.Scan(row.dest(true)...); err != nil {
				rows.Close()
				st.Close()
				return nil, fmt.Errorf("sqlite: append: look up client ids: %w", err)
			}
			if stored == nil {
				stored = make(map[msgKey]*messageRow)
			}
			stored[msgKey{row.m.Sender, row.m.ClientID}] = row
		}
		err = rows.Err()
		rows.Close()
		st.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlite: append: look up client ids: %w", err)
		}
	}
	return stored, nil
}

func conflict(m *chat.NewMessage) error {
	return fmt.Errorf("sqlite: append %s/%s: %w", m.Sender, m.ClientID, chat.ErrConflict)
}

// reserve advances each channel's last_seq by its number of new messages
// and numbers them in batch order.
func (b *appendBatch) reserve(ctx context.Context, tx *sql.Tx, s *Store) error {
	if b.newCount == 0 {
		return nil
	}
	bump := tx.StmtContext(ctx, s.ws.bumpSeq)
	defer bump.Close()
	for _, ch := range b.channels {
		idx := b.fresh[ch]
		var last int64
		if err := bump.QueryRowContext(ctx, len(idx), ch).Scan(&last); err != nil {
			return fmt.Errorf("sqlite: append: sequence of %q: %w", ch, err) // the channel was seen in this transaction
		}
		seq := uint64(last) - uint64(len(idx))
		for _, i := range idx {
			seq++
			m := &b.msgs[i]
			b.res[i].Message = chat.Message{
				Channel: m.Channel, Seq: seq, Sender: m.Sender, ClientID: m.ClientID,
				ContentType: m.ContentType, Body: m.Body, Attachments: m.Attachments,
				ReplyTo: m.ReplyTo, CreatedAt: fromMicros(micros(m.CreatedAt)),
			}
		}
	}
	return nil
}

// insert writes the new messages, in chunks of 64, 32, …, 1 rows: the
// binary decomposition of their number, so that a few prepared statements
// serve every batch size.
func (b *appendBatch) insert(ctx context.Context, tx *sql.Tx, s *Store) error {
	if b.newCount == 0 {
		return nil
	}
	args := make([]any, 0, min(b.newCount, 1<<(insertSizes-1))*insertArgs)
	next := 0 // next message index to consider
	for left := b.newCount; left > 0; {
		size := insertSizes - 1
		for 1<<size > left {
			size--
		}
		args = args[:0]
		for n := 0; n < 1<<size; next++ {
			r := &b.res[next]
			if r.Err != nil || b.dupOf[next] >= 0 || r.Duplicate {
				continue
			}
			m := &b.msgs[next]
			atts, err := encodeAttachments(m.Attachments)
			if err != nil {
				return err
			}
			args = append(args, m.Channel, seqArg(r.Message.Seq), m.Sender, m.ClientID, m.ContentType, m.Body,
				atts, seqArg(m.ReplyTo), micros(m.CreatedAt), b.hashes[next])
			n++
		}
		st := tx.StmtContext(ctx, s.ws.insert[size])
		_, err := st.ExecContext(ctx, args...)
		st.Close()
		if err != nil {
			return fmt.Errorf("sqlite: append: insert: %w", err)
		}
		left -= 1 << size
	}
	return nil
}
