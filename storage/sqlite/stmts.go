package sqlite

import (
	"database/sql"
	"fmt"
	"strings"
)

// The statements, prepared once at Open: readStmts on the reader pool,
// writeStmts on the writer (used inside transactions with tx.StmtContext,
// which reuses the preparation of the writer's only connection).

const channelCols = `id, kind, name, topic, public, member_cap, created_by, created_at, last_seq, open`

const memberCols = `channel, user, role, joined_at, read_seq, delivered_seq`

// messageCols are the columns scanMessage reads, from "messages m"; the
// last is the reaction counts as a JSON object ('{}' when none), computed
// in the same statement so that a message and its reactions come from one
// snapshot.
const messageCols = `m.channel, m.seq, m.sender, m.client_id, m.content_type, m.body, m.attachments,
	m.reply_to, m.created_at, m.edited_at, m.deleted, m.pinned,
	(SELECT json_group_object(emoji, n) FROM (
		SELECT emoji, count(*) AS n FROM reactions r WHERE r.channel = m.channel AND r.seq = m.seq GROUP BY emoji))`

type readStmts struct {
	channel, channelsOf                    *sql.Stmt
	member, members, memberCount           *sql.Stmt
	message, before, after, around, pinned *sql.Stmt
	unread                                 *sql.Stmt
}

type writeStmts struct {
	channelInsert, channelUpdate, channelDelete, channelCap     *sql.Stmt
	member, memberInsert, memberRole, memberDelete, memberCount *sql.Stmt

	bumpSeq *sql.Stmt
	byKeys  [insertSizes]*sql.Stmt // byKeys[i] looks up 1<<i (sender, client_id) keys
	insert  [insertSizes]*sql.Stmt // insert[i] inserts 1<<i messages

	message, messageState, edit, tombstone, pin *sql.Stmt
	react, unreact, unreactAll, reactions       *sql.Stmt
	cursors, setRead, setDelivered              *sql.Stmt
}

// insertSizes is how many multi-row INSERT (and key lookup) statements
// there are: of 1, 2, 4, …, 64 rows.
const insertSizes = 7

const insertCols = `(channel, seq, sender, client_id, content_type, body, attachments, reply_to, created_at, content_hash)`

const insertArgs = 10 // columns in insertCols

func (s *Store) prepare() error {
	var err error
	prep := func(db *sql.DB, query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		s.queries = append(s.queries, query)
		var st *sql.Stmt
		if st, err = db.Prepare(query); err != nil {
			err = fmt.Errorf("%w in %s", err, strings.Join(strings.Fields(query), " "))
		}
		return st
	}
	r, w := s.r, s.w
	s.rs = readStmts{
		channel: prep(r, `SELECT `+channelCols+` FROM channels WHERE id = ?`),
		channelsOf: prep(r, `SELECT c.id, c.kind, c.name, c.topic, c.public, c.member_cap, c.created_by, c.created_at, c.last_seq, c.open
			FROM members m JOIN channels c ON c.id = m.channel
			WHERE m.user = ? AND m.role <> 'banned' ORDER BY m.channel`),
		member:      prep(r, `SELECT `+memberCols+` FROM members WHERE channel = ? AND user = ?`),
		members:     prep(r, `SELECT `+memberCols+` FROM members WHERE channel = ? AND user > ? ORDER BY user LIMIT ?`),
		memberCount: prep(r, `SELECT count(*) FROM members WHERE channel = ? AND role <> 'banned'`),
		message:     prep(r, `SELECT `+messageCols+` FROM messages m WHERE m.channel = ? AND m.seq = ?`),
		before:      prep(r, `SELECT `+messageCols+` FROM messages m WHERE m.channel = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`),
		after:       prep(r, `SELECT `+messageCols+` FROM messages m WHERE m.channel = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`),
		around: prep(r, `SELECT * FROM (SELECT `+messageCols+` FROM messages m WHERE m.channel = ?1 AND m.seq <= ?2 ORDER BY m.seq DESC LIMIT ?3)
			UNION ALL
			SELECT * FROM (SELECT `+messageCols+` FROM messages m WHERE m.channel = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?4)`),
		pinned: prep(r, `SELECT `+messageCols+` FROM messages m WHERE m.channel = ? AND m.pinned ORDER BY m.seq`),
		unread: prep(r, `SELECT c.id, c.last_seq, m.read_seq
			FROM members m JOIN channels c ON c.id = m.channel
			WHERE m.user = ? AND m.role <> 'banned' ORDER BY m.channel`),
	}
	s.ws = writeStmts{
		channelInsert: prep(w, `INSERT INTO channels (`+channelCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
			ON CONFLICT (id) DO NOTHING`),
		channelUpdate: prep(w, `UPDATE channels SET name = ?, topic = ?, public = ?, member_cap = ?, open = ? WHERE id = ?
			RETURNING `+channelCols),
		channelDelete: prep(w, `DELETE FROM channels WHERE id = ?`),
		channelCap:    prep(w, `SELECT member_cap FROM channels WHERE id = ?`),
		member:        prep(w, `SELECT `+memberCols+` FROM members WHERE channel = ? AND user = ?`),
		memberInsert:  prep(w, `INSERT INTO members (channel, user, role, joined_at) VALUES (?, ?, ?, ?)`),
		memberRole:    prep(w, `UPDATE members SET role = ? WHERE channel = ? AND user = ?`),
		memberDelete:  prep(w, `DELETE FROM members WHERE channel = ? AND user = ?`),
		memberCount:   prep(w, `SELECT count(*) FROM members WHERE channel = ? AND role <> 'banned'`),
		bumpSeq:       prep(w, `UPDATE channels SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq`),
		message:       prep(w, `SELECT `+messageCols+` FROM messages m WHERE m.channel = ? AND m.seq = ?`),
		messageState:  prep(w, `SELECT deleted FROM messages WHERE channel = ? AND seq = ?`),
		edit:          prep(w, `UPDATE messages SET content_type = ?, body = ?, edited_at = ? WHERE channel = ? AND seq = ?`),
		tombstone:     prep(w, `UPDATE messages SET body = NULL, attachments = NULL, deleted = 1 WHERE channel = ? AND seq = ?`),
		unreact:       prep(w, `DELETE FROM reactions WHERE channel = ? AND seq = ? AND user = ? AND emoji = ?`),
		unreactAll:    prep(w, `DELETE FROM reactions WHERE channel = ? AND seq = ?`),
		react:         prep(w, `INSERT INTO reactions (channel, seq, user, emoji) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		reactions:     prep(w, `SELECT emoji, count(*) FROM reactions WHERE channel = ? AND seq = ? GROUP BY emoji`),
		pin:           prep(w, `UPDATE messages SET pinned = ? WHERE channel = ? AND seq = ?`),
		cursors: prep(w, `SELECT m.read_seq, m.delivered_seq, c.last_seq
			FROM members m JOIN channels c ON c.id = m.channel WHERE m.channel = ? AND m.user = ?`),
		setRead:      prep(w, `UPDATE members SET read_seq = ? WHERE channel = ? AND user = ?`),
		setDelivered: prep(w, `UPDATE members SET delivered_seq = ? WHERE channel = ? AND user = ?`),
	}
	for i := range s.ws.insert {
		s.ws.insert[i] = prep(w, insertSQL(1<<i))
		s.ws.byKeys[i] = prep(w, byKeysSQL(1<<i))
	}
	return err
}

// byKeysSQL looks up the messages of n (sender, client_id) keys.
func byKeysSQL(n int) string {
	return `SELECT ` + messageCols + `, m.content_hash FROM messages m WHERE (m.sender, m.client_id) IN (VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?), ", n), ", ") + `)`
}

// insertSQL is a multi-row INSERT of n messages.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO messages ` + insertCols + ` VALUES `)
	row := "(" + strings.Repeat("?, ", insertArgs-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}
