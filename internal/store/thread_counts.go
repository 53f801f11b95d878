package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Threads during ingest: created and named before a chunk's transaction, locked, and their
// message counts and time spans kept up to date.

// threadsFor creates the number's threads with the contacts of rows when missing and names
// them, in a short transaction of its own, and returns their ids by contact. Committing the
// threads before the messages' transaction means that two chunks sharing a chat (a long chat
// spans chunks) never wait on each other for its thread row while the other applies its
// thousands of messages; a thread whose messages are not stored yet holds 0 messages and is
// not listed. Call it outside applyTx.
func (db *DB) threadsFor(ctx context.Context, pnid string, rows []msgRow, names map[string]string) (map[string]uint64, error) {
	contacts := map[string]bool{}
	for _, r := range rows {
		if r.ContactWAID != "" {
			contacts[r.ContactWAID] = true
		}
	}
	if len(contacts) == 0 {
		return nil, nil
	}
	var ids map[string]uint64
	err := db.applyTx(ctx, func(tx *DB) error {
		var err error
		ids, err = tx.ensureThreads(ctx, pnid, contacts, names)
		return err
	})
	return ids, err
}

// threadDelta is what inserted messages add to a thread.
type threadDelta struct {
	threadID    uint64
	n           int
	first, last int64
}

// add counts a listed message at ts.
func (d *threadDelta) add(threadID uint64, ts int64) *threadDelta {
	d = d.touch(threadID, ts)
	d.n++
	return d
}

// touch extends the thread's time span to ts without counting an item (a reaction: whether
// it is one is reaction_items.go's to say).
func (d *threadDelta) touch(threadID uint64, ts int64) *threadDelta {
	if d == nil {
		return &threadDelta{threadID: threadID, first: ts, last: ts}
	}
	d.first, d.last = min(d.first, ts), max(d.last, ts)
	return d
}

// addToThreads adds inserted messages to their threads' counts and time spans, in one
// multi-row upsert per batch (the threads exist: the rows only update them).
func (db *DB) addToThreads(ctx context.Context, pnid string, added map[string]*threadDelta) error {
	if len(added) == 0 {
		return nil
	}
	contacts := make([]string, 0, len(added))
	for c := range added {
		contacts = append(contacts, c)
	}
	slices.Sort(contacts)
	var suffix string
	if db.dialect == MySQL {
		// A thread made by ensureThreads has no time span yet (0): it takes the batch's. (Not
		// message_count = 0: a thread can hold reactions that are not listed items.)
		suffix = ` ON DUPLICATE KEY UPDATE
  first_message_at = IF(first_message_at = 0, VALUES(first_message_at), LEAST(first_message_at, VALUES(first_message_at))),
  last_message_at = IF(last_message_at = 0, VALUES(last_message_at), GREATEST(last_message_at, VALUES(last_message_at))),
  message_count = message_count + VALUES(message_count)`
	} else {
		suffix = ` ON CONFLICT (phone_number_id, contact_wa_id) DO UPDATE SET
  first_message_at = CASE WHEN threads.first_message_at = 0 THEN excluded.first_message_at ELSE MIN(threads.first_message_at, excluded.first_message_at) END,
  last_message_at = CASE WHEN threads.last_message_at = 0 THEN excluded.last_message_at ELSE MAX(threads.last_message_at, excluded.last_message_at) END,
  message_count = threads.message_count + excluded.message_count`
	}
	batch := db.rowsPerStatement(5)
	for start := 0; start < len(contacts); start += batch {
		part := contacts[start:min(start+batch, len(contacts))]
		var b strings.Builder
		b.WriteString("INSERT INTO threads (phone_number_id, contact_wa_id, contact_name, message_count, first_message_at, last_message_at) VALUES ")
		args := make([]any, 0, len(part)*5)
		for i, c := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, '', ?, ?, ?)")
			d := added[c]
			args = append(args, pnid, c, d.n, d.first, d.last)
		}
		b.WriteString(suffix)
		if _, err := db.rawExec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("add to threads: %w", err)
		}
	}
	return nil
}

// ensureThreads creates the number's threads with these contacts when missing, names them
// from the contacts table (or the names given, for threads without one) and returns their
// ids by contact.
func (db *DB) ensureThreads(ctx context.Context, pnid string, contacts map[string]bool, names map[string]string) (map[string]uint64, error) {
	ids := make(map[string]uint64, len(contacts))
	if len(contacts) == 0 {
		return ids, nil
	}
	sorted := make([]string, 0, len(contacts))
	for c := range contacts {
		sorted = append(sorted, c)
	}
	slices.Sort(sorted) // one lock order for every transaction
	batch := min(db.rowsPerStatement(3), db.keysPerStatement())
	for start := 0; start < len(sorted); start += batch {
		part := sorted[start:min(start+batch, len(sorted))]
		var b strings.Builder
		b.WriteString("INSERT INTO threads (phone_number_id, contact_wa_id, contact_name, message_count, first_message_at, last_message_at) VALUES ")
		args := make([]any, 0, len(part)*3)
		for i, c := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, 0, 0, 0)")
			args = append(args, pnid, c, clipMarked(validText(names[c]), 255))
		}
		if db.dialect == MySQL {
			b.WriteString(" ON DUPLICATE KEY UPDATE contact_name = IF(contact_name = '', VALUES(contact_name), contact_name)")
		} else {
			b.WriteString(" ON CONFLICT (phone_number_id, contact_wa_id) DO UPDATE SET contact_name = CASE WHEN threads.contact_name = '' THEN excluded.contact_name ELSE threads.contact_name END")
		}
		if _, err := db.rawExec(ctx, b.String(), args...); err != nil {
			return nil, fmt.Errorf("upsert threads: %w", err)
		}

		current := map[string]string{}
		q := "SELECT id, contact_wa_id, contact_name FROM threads WHERE phone_number_id = ? AND contact_wa_id IN (" + sqlPlaceholders(len(part)) + ")"
		err := db.rawQuery(ctx, q, append([]any{pnid}, sqlStringArgs(part)...), func(r *sql.Rows) error {
			var id uint64
			var c, name string
			if err := r.Scan(&id, &c, &name); err != nil {
				return err
			}
			ids[c], current[c] = id, name
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read threads: %w", err)
		}
		// The address book names threads. Read it with a shared lock (MySQL) so a contact
		// change committing now is either seen here or renames this thread itself.
		q = "SELECT wa_id, full_name, first_name FROM contacts WHERE phone_number_id = ? AND removed = ? AND wa_id IN (" + sqlPlaceholders(len(part)) + ")"
		if db.dialect == MySQL {
			q += " LOCK IN SHARE MODE"
		}
		var renameIDs []uint64
		var renameArgs []any
		err = db.rawQuery(ctx, q, append([]any{pnid, false}, sqlStringArgs(part)...), func(r *sql.Rows) error {
			var c, full, first string
			if err := r.Scan(&c, &full, &first); err != nil {
				return err
			}
			name := full
			if name == "" {
				name = first
			}
			if id, ok := ids[c]; ok && name != "" && name != current[c] {
				renameIDs = append(renameIDs, id)
				renameArgs = append(renameArgs, id, name)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read contacts: %w", err)
		}
		if len(renameIDs) > 0 {
			q := "UPDATE threads SET contact_name = CASE id" + strings.Repeat(" WHEN ? THEN ?", len(renameIDs)) +
				" ELSE contact_name END WHERE id IN (" + sqlPlaceholders(len(renameIDs)) + ")"
			args := append(renameArgs, sqlUint64Args(renameIDs)...)
			if _, err := db.rawExec(ctx, q, args...); err != nil {
				return nil, fmt.Errorf("name threads: %w", err)
			}
		}
	}
	return ids, nil
}

// lockedThread is a thread row as lockThreads read it under its lock.
type lockedThread struct {
	contact       string // contact_wa_id: the thread's contact key
	reactionItems int    // see reaction_items.go
}

// lockThreads locks thread rows (MySQL; SQLite has one writer) in id order and returns them
// as read under the lock; a thread merged into another meanwhile is absent.
func (db *DB) lockThreads(ctx context.Context, ids []uint64) (map[uint64]lockedThread, error) {
	slices.Sort(ids)
	items := make(map[uint64]lockedThread, len(ids))
	batch := db.keysPerStatement()
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		q := "SELECT id, contact_wa_id, reaction_items FROM threads WHERE id IN (" + sqlPlaceholders(len(part)) + ") ORDER BY id"
		if db.dialect == MySQL {
			q += " FOR UPDATE"
		}
		err := db.rawQuery(ctx, q, sqlUint64Args(part), func(r *sql.Rows) error {
			var id uint64
			var t lockedThread
			if err := r.Scan(&id, &t.contact, &t.reactionItems); err != nil {
				return err
			}
			items[id] = t
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("lock threads: %w", err)
		}
	}
	return items, nil
}

// recountThreads sets message_count (the messages the thread lists, see listedMessage),
// reaction_items (the reactions among them), first_message_at and last_message_at (over
// all its messages, reactions included: a reaction is activity in the chat) of threads
// from their messages, in one statement per batch.
func (db *DB) recountThreads(ctx context.Context, touched map[uint64]bool) error {
	if len(touched) == 0 {
		return nil
	}
	ids := make([]uint64, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	batch := db.keysPerStatement()
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		in := sqlPlaceholders(len(part))
		var q string
		var args []any
		if db.dialect == MySQL {
			q = "UPDATE threads t LEFT JOIN (SELECT m.thread_id, SUM(CASE WHEN m.type <> '" + reactionType + "' THEN 1 ELSE 0 END) AS n, " +
				"SUM(CASE WHEN m.type = '" + reactionType + "' AND " + listedReaction + " THEN 1 ELSE 0 END) AS items, MIN(m.ts) AS first_ts, MAX(m.ts) AS last_ts " +
				"FROM messages m WHERE m.thread_id IN (" + in + ") GROUP BY m.thread_id) c ON c.thread_id = t.id " +
				"SET t.message_count = COALESCE(c.n, 0) + COALESCE(c.items, 0), t.reaction_items = COALESCE(c.items, 0), " +
				"t.first_message_at = COALESCE(c.first_ts, 0), t.last_message_at = COALESCE(c.last_ts, 0) WHERE t.id IN (" + in + ")"
			args = append(sqlUint64Args(part), sqlUint64Args(part)...)
		} else {
			q = "UPDATE threads SET message_count = (SELECT COUNT(*) FROM messages m WHERE m.thread_id = threads.id AND " + listedMessage + "), " +
				"reaction_items = (SELECT COUNT(*) FROM messages m WHERE m.thread_id = threads.id AND m.type = '" + reactionType + "' AND " + listedReaction + "), " +
				"first_message_at = COALESCE((SELECT MIN(ts) FROM messages WHERE thread_id = threads.id), 0), " +
				"last_message_at = COALESCE((SELECT MAX(ts) FROM messages WHERE thread_id = threads.id), 0) WHERE id IN (" + in + ")"
			args = sqlUint64Args(part)
		}
		if _, err := db.rawExec(ctx, q, args...); err != nil {
			return fmt.Errorf("recount threads: %w", err)
		}
	}
	return nil
}
