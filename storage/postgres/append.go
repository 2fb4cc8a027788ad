package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/salamhq/salam/core/chat"
)

// maxAppendAttempts bounds how often Append runs a batch again after losing
// a race: a concurrent writer committed one of its keys (the next attempt
// finds the row and reports a duplicate) or a deadlock was broken.
const maxAppendAttempts = 5

// appendSQL stores a batch in one statement, given the batch's distinct
// keys as parallel arrays ($1 ord: index in the Append call). In order:
//
//	v      the batch
//	ex     rows already stored under its keys: one probe of
//	       messages_sender_client_id per key (LATERAL with LIMIT, which the
//	       planner cannot flatten into a join that hashes the whole table)
//	fresh  the others, numbered 1.. per channel in batch order
//	up     each channel's last_seq raised by its count of fresh messages
//	       (channels_pkey; the row lock serializes writers of a channel
//	       until commit)
//	ins    the fresh messages with sequences last_seq-k+1 .. last_seq,
//	       inserted in key order so that two batches sharing keys take
//	       their index locks in one order; a channel missing from channels
//	       has no row in up, so its messages are not inserted
//
// The keys compare as the columns do (COLLATE "C": bytes, no locale).
// It returns one row per inserted message (ord, seq, NULLs) and one per
// existing one (ord, the stored message and its digest). A key committed by
// another transaction after this statement's snapshot fails the insert with
// a unique violation; Append then runs the batch again, locking its
// channels first. Gap-free: the increment and the inserts are one
// statement, committed or rolled back together.
const appendSQL = appendV + `, ex AS MATERIALIZED (
	SELECT v.ord, m.* FROM v CROSS JOIN LATERAL (
		SELECT * FROM messages m WHERE m.sender = v.sender AND m.client_id = v.client_id LIMIT 1
	) m
), fresh AS MATERIALIZED (
	SELECT v.*, row_number() OVER (PARTITION BY v.channel ORDER BY v.ord) AS rn
	FROM v WHERE v.ord NOT IN (SELECT ord FROM ex)
)` + appendUpIns + `
UNION ALL
SELECT m.ord, m.seq, m.channel, m.content_type, m.body, m.attachments, m.reply_to, m.created_at,
	m.edited_at, m.deleted, m.pinned, r.emojis, r.counts, m.digest
FROM ex m` + reactionsJoin

// appendNewSQL is appendSQL for a batch expected to hold only new keys,
// which is every batch but retries: without ex it probes no key before the
// insert (about a sixth of the statement's time). A key already stored
// fails the insert with a unique violation, the statement rolls back whole
// (no sequence used), and Append runs the batch again with appendSQL.
const appendNewSQL = appendV + `, fresh AS MATERIALIZED (
	SELECT v.*, row_number() OVER (PARTITION BY v.channel ORDER BY v.ord) AS rn FROM v
)` + appendUpIns

// The parts appendSQL and appendNewSQL share.
const (
	appendV = `WITH v AS MATERIALIZED (
	SELECT ord, channel COLLATE "C" AS channel, sender COLLATE "C" AS sender, client_id COLLATE "C" AS client_id,
		content_type, body, attachments, reply_to, created_at, digest
	FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[], $8::int8[], $9::timestamptz[], $10::bytea[])
		AS v (ord, channel, sender, client_id, content_type, body, attachments, reply_to, created_at, digest)
)`
	appendUpIns = `, up AS (
	UPDATE channels c SET last_seq = c.last_seq + f.k
	FROM (SELECT channel, count(*) AS k FROM fresh GROUP BY channel) f
	WHERE c.id = f.channel
	RETURNING c.id, c.last_seq, f.k
), ins AS (
	INSERT INTO messages (channel, seq, sender, client_id, content_type, body, attachments, reply_to, created_at, digest)
	SELECT f.channel, up.last_seq - up.k + f.rn, f.sender, f.client_id, f.content_type, f.body,
		NULLIF(f.attachments, '')::jsonb, f.reply_to, f.created_at, f.digest
	FROM fresh f JOIN up ON up.id = f.channel
	ORDER BY f.sender, f.client_id
	RETURNING sender, client_id, seq
)
SELECT v.ord, ins.seq, NULL::text AS channel, NULL::text AS content_type, NULL::bytea AS body,
	NULL::jsonb AS attachments, NULL::int8 AS reply_to, NULL::timestamptz AS created_at,
	NULL::timestamptz AS edited_at, NULL::bool AS deleted, NULL::bool AS pinned,
	NULL::text[] AS emojis, NULL::int8[] AS counts, NULL::bytea AS digest
FROM ins JOIN v ON v.sender = ins.sender AND v.client_id = ins.client_id`
)

// lockChannelsSQL locks a batch's channels (channels_pkey) in id order
// before appendSQL runs. Multi-channel batches always take it, so that
// batches sharing channels never wait for each other in a cycle (the order
// is byte order, COLLATE "C", in every process). A batch run again after a
// unique violation takes it too: appendSQL's snapshot then starts after
// every earlier writer of its channels committed, so it sees the keys they
// stored instead of colliding with them again.
const lockChannelsSQL = `SELECT FROM channels WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`

// Append stores msgs in one round trip: a batch whose messages name one
// channel is one statement (appendNewSQL); one naming several channels is
// two, pipelined in one implicit transaction (lockChannelsSQL, then the
// statement). A batch that holds a stored key or lost a race runs again
// with appendSQL, at most maxAppendAttempts times in all.
//
// A retry is compared with the message as it was appended (channel,
// reply-to and contentDigest), so a send retried after its message was
// edited or deleted is a duplicate of the message as it is now.
//
// Within a batch, a message whose key appeared earlier in the batch is
// compared with that first message: the same content shares its result
// (Duplicate for a stored message, ErrNotFound for an unknown channel),
// other content is ErrConflict. The Body of a stored message's result is a
// copy; the caller may reuse msgs' buffers.
//
// An error return means the batch was rolled back, except when the
// connection fails while the commit is in flight: the outcome is then
// unknown, and retrying the batch (same keys) reports what was stored as
// duplicates.
func (s *Store) Append(ctx context.Context, msgs []chat.NewMessage) ([]chat.AppendResult, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	b, err := newAppendBatch(msgs)
	if err != nil {
		return nil, fmt.Errorf("postgres: append: %w", err)
	}
	for attempt := 1; ; attempt++ {
		err := s.appendOnce(ctx, b)
		if err == nil {
			return b.results(), nil
		}
		if attempt >= maxAppendAttempts || !(isUniqueViolation(err, "messages_sender_client_id") || isTransient(err)) {
			return nil, fmt.Errorf("postgres: append: %w", err)
		}
		b.lockFirst, b.probe = true, true
		s.appendRetries.Add(1)
	}
}

// appendBatch is one Append call: the statement's arguments, built once, and
// what the last attempt returned.
type appendBatch struct {
	msgs  []chat.NewMessage
	first []int32     // first[i]: index of the first message with msgs[i]'s key
	at    []time.Time // created_at of msgs[i] as stored

	// appendSQL's arguments: one entry per distinct key.
	ord          []int32
	channel      []string
	sender       []string
	clientID     []string
	contentType  []string
	body         [][]byte
	attachments  []string
	replyTo      []int64
	createdAt    []time.Time
	digest       [][]byte
	lockChannels []string // the batch's channels, sorted
	lockFirst    bool     // run lockChannelsSQL before appendSQL
	probe        bool     // look for stored keys (appendSQL); first attempts expect none (appendNewSQL)

	// Outcome of the last attempt, by index in msgs (first occurrences).
	seq      []int64 // > 0: inserted with this sequence
	existing map[int32]existingMessage
}

// existingMessage is a message stored before the batch, with its digest.
type existingMessage struct {
	chat.Message
	digest []byte
}

func newAppendBatch(msgs []chat.NewMessage) (*appendBatch, error) {
	n := len(msgs)
	b := &appendBatch{
		msgs:        msgs,
		first:       make([]int32, n),
		at:          make([]time.Time, n),
		seq:         make([]int64, n),
		ord:         make([]int32, 0, n),
		channel:     make([]string, 0, n),
		sender:      make([]string, 0, n),
		clientID:    make([]string, 0, n),
		contentType: make([]string, 0, n),
		body:        make([][]byte, 0, n),
		attachments: make([]string, 0, n),
		replyTo:     make([]int64, 0, n),
		createdAt:   make([]time.Time, 0, n),
		digest:      make([][]byte, 0, n),
	}
	var seen map[[2]string]int32
	if n > 1 {
		seen = make(map[[2]string]int32, n)
	}
	var (
		multi   bool
		scratch []byte
		digests = make([]byte, 0, n*digestSize)
	)
	for i := range msgs {
		m := &msgs[i]
		b.first[i] = int32(i)
		if seen != nil {
			k := [2]string{m.Sender, m.ClientID}
			if f, ok := seen[k]; ok {
				b.first[i] = f
				continue
			}
			seen[k] = int32(i)
		}
		if m.Channel != msgs[0].Channel {
			multi = true
		}
		atts, err := encodeAttachments(m.Attachments)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		b.at[i] = orNow(m.CreatedAt)
		b.ord = append(b.ord, int32(i))
		b.channel = append(b.channel, m.Channel)
		b.sender = append(b.sender, m.Sender)
		b.clientID = append(b.clientID, m.ClientID)
		b.contentType = append(b.contentType, m.ContentType)
		b.body = append(b.body, m.Body)
		b.attachments = append(b.attachments, atts)
		b.replyTo = append(b.replyTo, seqArg(m.ReplyTo))
		b.createdAt = append(b.createdAt, b.at[i])
		var d []byte
		d, scratch = contentDigest(digests, scratch, m)
		b.digest = append(b.digest, d[len(digests):])
		digests = d
	}
	b.lockChannels = slices.Clone(b.channel)
	slices.Sort(b.lockChannels)
	b.lockChannels = slices.Compact(b.lockChannels)
	b.lockFirst = multi
	return b, nil
}

// appendOnce runs the batch once and records its outcome in b.
func (s *Store) appendOnce(ctx context.Context, b *appendBatch) error {
	clear(b.seq)
	clear(b.existing)
	args := []any{b.ord, b.channel, b.sender, b.clientID, b.contentType, b.body, b.attachments, b.replyTo, b.createdAt, b.digest}
	sql := appendNewSQL
	if b.probe {
		sql = appendSQL
	}
	if !b.lockFirst {
		rows, _ := s.pool.Query(ctx, sql, args...)
		return b.collect(rows)
	}
	batch := &pgx.Batch{}
	batch.Queue(lockChannelsSQL, b.lockChannels)
	batch.Queue(sql, args...).Query(func(rows pgx.Rows) error { return b.collect(rows) })
	return s.pool.SendBatch(ctx, batch).Close()
}

// collect reads appendSQL's rows into b.
func (b *appendBatch) collect(rows pgx.Rows) error {
	defer rows.Close()
	var (
		ord         int32
		seq         int64
		channel     pgtype.Text
		contentType pgtype.Text
		body        []byte
		atts        []byte
		replyTo     pgtype.Int8
		createdAt   pgtype.Timestamptz
		editedAt    pgtype.Timestamptz
		deleted     pgtype.Bool
		pinned      pgtype.Bool
		emojis      []string
		counts      []int64
		digest      []byte
	)
	for rows.Next() {
		if err := rows.Scan(&ord, &seq, &channel, &contentType, &body, &atts, &replyTo, &createdAt,
			&editedAt, &deleted, &pinned, &emojis, &counts, &digest); err != nil {
			return err
		}
		if int(ord) >= len(b.msgs) || ord < 0 {
			return fmt.Errorf("append: statement returned ord %d for a batch of %d", ord, len(b.msgs))
		}
		if !channel.Valid { // inserted
			b.seq[ord] = seq
			continue
		}
		in := &b.msgs[ord]
		m := chat.Message{
			Channel:     channel.String,
			Seq:         uint64(seq),
			Sender:      in.Sender,
			ClientID:    in.ClientID,
			ContentType: contentType.String,
			ReplyTo:     uint64(replyTo.Int64),
			CreatedAt:   createdAt.Time.UTC(),
			Deleted:     deleted.Bool,
			Pinned:      pinned.Bool,
			Reactions:   reactionMap(emojis, counts),
		}
		if len(body) > 0 {
			m.Body = bytes.Clone(body)
		}
		if editedAt.Valid {
			m.EditedAt = editedAt.Time.UTC()
		}
		var err error
		if m.Attachments, err = decodeAttachments(atts); err != nil {
			return err
		}
		if b.existing == nil {
			b.existing = make(map[int32]existingMessage)
		}
		b.existing[ord] = existingMessage{Message: m, digest: bytes.Clone(digest)}
	}
	return rows.Err()
}

// results builds the AppendResults from the last attempt's outcome.
func (b *appendBatch) results() []chat.AppendResult {
	res := make([]chat.AppendResult, len(b.msgs))
	// One allocation holds the copies of the stored bodies.
	size := 0
	for i, f := range b.first {
		if int(f) == i && b.seq[i] > 0 {
			size += len(b.msgs[i].Body)
		}
	}
	arena := make([]byte, 0, size)
	var scratch []byte
	for i := range b.msgs {
		in := &b.msgs[i]
		f := b.first[i]
		r := &res[i]
		switch ex, ok := b.existing[f]; {
		case ok:
			var d []byte
			d, scratch = contentDigest(nil, scratch, in)
			if in.Channel == ex.Channel && in.ReplyTo == ex.ReplyTo && bytes.Equal(d, ex.digest) {
				r.Message, r.Duplicate = ex.Message, true
			} else {
				r.Err = fmt.Errorf("postgres: append %q/%q: %w", in.Sender, in.ClientID, chat.ErrConflict)
			}
		case int(f) != i:
			// Repeats a key that appeared earlier in this batch.
			orig := &res[f]
			switch {
			case !sameNew(in, &b.msgs[f]):
				r.Err = fmt.Errorf("postgres: append %q/%q: %w", in.Sender, in.ClientID, chat.ErrConflict)
			case orig.Err != nil:
				r.Err = orig.Err
			default:
				r.Message, r.Duplicate = orig.Message, true
			}
		case b.seq[i] > 0:
			var body []byte
			if len(in.Body) > 0 {
				start := len(arena)
				arena = append(arena, in.Body...)
				body = arena[start:len(arena):len(arena)]
			}
			r.Message = chat.Message{
				Channel:     in.Channel,
				Seq:         uint64(b.seq[i]),
				Sender:      in.Sender,
				ClientID:    in.ClientID,
				ContentType: in.ContentType,
				Body:        body,
				Attachments: cloneAttachments(in.Attachments),
				ReplyTo:     in.ReplyTo,
				CreatedAt:   b.at[i],
			}
		default:
			r.Err = fmt.Errorf("postgres: append to channel %q: %w", in.Channel, chat.ErrNotFound)
		}
	}
	return res
}

func cloneAttachments(a []chat.Attachment) []chat.Attachment {
	if len(a) == 0 {
		return nil
	}
	return slices.Clone(a)
}

// sameNew reports whether two messages of one batch have the same content
// in what the contract compares: channel, content type, body, attachments
// and reply-to. Empty and nil are the same.
func sameNew(a, b *chat.NewMessage) bool {
	return a.Channel == b.Channel && a.ContentType == b.ContentType && a.ReplyTo == b.ReplyTo &&
		bytes.Equal(a.Body, b.Body) && slices.Equal(a.Attachments, b.Attachments)
}

// digestSize is the length of a stored digest: half a SHA-256. A collision
// could only make a sender's own conflicting retry look like a duplicate.
const digestSize = 16

// contentDigest appends to dst the digest of what Append compares besides
// channel and reply-to (both immutable columns): content type, body and
// attachments, length-prefixed so that no two contents encode alike. Empty
// and nil body or attachments digest alike. scratch is a buffer to reuse;
// it returns the extended dst and the buffer.
func contentDigest(dst, scratch []byte, m *chat.NewMessage) ([]byte, []byte) {
	scratch = scratch[:0]
	str := func(s string) {
		scratch = binary.AppendUvarint(scratch, uint64(len(s)))
		scratch = append(scratch, s...)
	}
	str(m.ContentType)
	scratch = binary.AppendUvarint(scratch, uint64(len(m.Body)))
	scratch = append(scratch, m.Body...)
	scratch = binary.AppendUvarint(scratch, uint64(len(m.Attachments)))
	for _, a := range m.Attachments {
		str(a.URL)
		str(a.Mime)
		scratch = binary.AppendVarint(scratch, a.Size)
		str(a.Name)
	}
	sum := sha256.Sum256(scratch)
	return append(dst, sum[:digestSize]...), scratch
}
