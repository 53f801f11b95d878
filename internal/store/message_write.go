package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"coexhistory/internal/coex"
	"coexhistory/models"
)

// Writing messages: the merge of a stored message with an incoming one, the locked read of
// the stored versions, the multi-row upsert and the re-run after a concurrent insert.

// TypeUnknown is the type of a message known only from an edit or revoke that arrived
// before the message itself. The message's own delivery replaces it.
const TypeUnknown = coex.TypeUnknown

// noChunk is the phase and chunk order of messages that did not come in a history chunk.
const noChunk = coex.NoChunk

// msgRow is a message as the merge sees it; ID is 0 for a row not stored yet.
type msgRow struct {
	ID       uint64
	WAMID    string
	ThreadID uint64
	coex.MessageVersion
}

func rowFromMessage(m coex.Message, phase, chunkOrder int) msgRow {
	return msgRow{
		WAMID: clip(m.WAMID, 191),
		MessageVersion: coex.MessageVersion{
			ContactWAID: clip(m.ContactWAID, 32),
			Direction:   clip(m.Direction, 8),
			Type:        clipMarked(m.Type, 32),
			Text:        validText(m.Text),
			TS:          m.Timestamp,
			Status:      clip(coex.NormalizeStatus(m.Status), 16),
			Origin:      clip(m.Origin, 8),
			MediaID:     clip(m.MediaID, 64),
			MimeType:    clipMarked(m.MimeType, 128),
			ReactionTo:  clip(m.ReactionTo, 191),
			Phase:       phase,
			ChunkOrder:  chunkOrder,
			Position:    m.Position,
			Raw:         validText(string(m.Raw)),
		},
	}
}

// stubRow is a message known only from an edit or revoke: the business's (an echo: outbound,
// origin echo) or the customer's (inbound, origin live), as direction and origin say.
func stubRow(wamid, contact, direction, origin string, ts int64, raw []byte, text string, edited, deleted bool) msgRow {
	if direction == "" {
		direction = models.DirectionOutbound
	}
	if origin == "" {
		origin = models.OriginEcho
	}
	return msgRow{
		WAMID: clip(wamid, 191),
		MessageVersion: coex.MessageVersion{
			ContactWAID: clip(contact, 32),
			Direction:   clip(direction, 8),
			Type:        TypeUnknown,
			Text:        validText(text),
			TS:          ts,
			Origin:      clip(origin, 8),
			Edited:      edited,
			Deleted:     deleted,
			Phase:       noChunk,
			ChunkOrder:  noChunk,
			Raw:         validText(string(raw)),
		},
	}
}

// merger combines the stored (or earlier in the batch) version of a message, nil when there
// is none, with an incoming one. keep=false leaves the message unwritten.
type merger func(cur *msgRow, in msgRow) (out msgRow, keep bool)

// mergeRow merges two deliveries of one message by coex.Merge's order-independent rules; a
// message whose contact is taken from the incoming delivery is placed in that contact's
// thread.
func mergeRow(cur *msgRow, in msgRow) (msgRow, bool) {
	if cur == nil {
		return in, true
	}
	out := *cur
	var newContact bool
	out.MessageVersion, newContact = coex.Merge(cur.MessageVersion, in.MessageVersion)
	if newContact {
		out.ThreadID = 0
	}
	return out, true
}

// errConcurrentInsert says that a message this transaction believed new was stored meanwhile
// by another one: the transaction is rolled back and run again (see mergeMessages).
var errConcurrentInsert = errors.New("a message was stored by a concurrent transaction")

// errThreadsMoved says that a thread the transaction writes to was merged into another (or
// renamed) after the messages' contacts were resolved: the apply starts again from the
// contacts.
var errThreadsMoved = errors.New("a thread was merged into another by a concurrent transaction")

// mergeMessages merges incoming rows into the stored messages of a number (threads: the ids
// of the incoming contacts' threads, from threadsFor): it reads the stored versions, locking
// them (MySQL), merges with fn, writes the new and changed rows in multi-row upserts and
// updates the counts of the threads that changed.
//
// Concurrency (MySQL, READ COMMITTED): a stored message is locked before it is read, so its
// merge is never lost; a new message is inserted, and if another transaction inserted the
// same wamid first the upsert's row count shows it and the whole transaction runs again
// (it then reads and merges that row). Thread rows are locked only at the end, to update
// their counts, so transactions on different messages of one chat barely wait on each other.
func (db *DB) mergeMessages(ctx context.Context, pnid string, incoming []msgRow, threadIDs map[string]uint64, fn merger) (ApplyResult, error) {
	var res ApplyResult
	if len(incoming) == 0 {
		return res, nil
	}
	wamids := uniqueWAMIDs(incoming)
	stored, err := db.readMessages(ctx, pnid, wamids)
	if err != nil {
		return res, err
	}

	work := make(map[string]*msgRow, len(wamids))
	order := make([]string, 0, len(wamids))
	for _, in := range incoming {
		cur := work[in.WAMID]
		if cur == nil {
			if s, ok := stored[in.WAMID]; ok {
				c := s
				cur = &c
			}
		}
		out, keep := fn(cur, in)
		if !keep {
			if cur == nil {
				res.Skipped++
			}
			continue
		}
		if out.ThreadID == 0 && out.ContactWAID != "" {
			out.ThreadID = threadIDs[out.ContactWAID]
		}
		if cur != nil {
			out.ID = cur.ID
		}
		if work[in.WAMID] == nil {
			order = append(order, in.WAMID)
		}
		o := out
		work[in.WAMID] = &o
	}

	var fresh []string
	for _, w := range order {
		if work[w].ID == 0 {
			fresh = append(fresh, w)
		}
	}
	if len(fresh) > 0 {
		pending, err := db.webhookStatuses(ctx, pnid, fresh)
		if err != nil {
			return res, err
		}
		for w, st := range pending {
			work[w].Status = coex.MergeStatus(work[w].Status, st)
		}
	}

	// Thread counters: inserted messages are added to their thread, inserted reactions
	// extend its time span and count as reaction_items.go says; a message that moved to
	// another thread or time, or a stored reaction that changed, has its threads recounted
	// from the messages table.
	added := map[string]*threadDelta{}
	recount := map[uint64]bool{}
	var insertedReactions []*msgRow
	var insertedMessages []*msgRow // non-reactions: reactions to them may have been listed items
	write := make([]*msgRow, 0, len(order))
	for _, w := range order {
		r := work[w]
		old, existed := stored[w]
		if existed && old == *r {
			continue
		}
		write = append(write, r)
		switch {
		case existed:
			res.Updated++
			if old.ThreadID != r.ThreadID || old.TS != r.TS || old.Type == reactionType || r.Type == reactionType {
				recount[old.ThreadID] = true
				recount[r.ThreadID] = true
			}
			if old.Type == reactionType && r.Type != reactionType {
				insertedMessages = append(insertedMessages, r)
			}
		case r.Type == reactionType:
			res.Inserted++
			if r.ThreadID != 0 {
				added[r.ContactWAID] = added[r.ContactWAID].touch(r.ThreadID, r.TS)
				insertedReactions = append(insertedReactions, r)
			}
		default:
			res.Inserted++
			insertedMessages = append(insertedMessages, r)
			if r.ThreadID != 0 {
				added[r.ContactWAID] = added[r.ContactWAID].add(r.ThreadID, r.TS)
			}
		}
	}
	affected, err := db.upsertMessages(ctx, pnid, write)
	if err != nil {
		return res, err
	}
	// MySQL counts 1 per inserted row and 2 per changed row. Anything else means that a row
	// believed new was stored meanwhile, and that this upsert overwrote it unmerged.
	if db.dialect == MySQL && affected != int64(res.Inserted+2*res.Updated) {
		return res, errConcurrentInsert
	}
	if err := db.enqueueMediaJobs(ctx, pnid, write); err != nil {
		return res, err
	}
	delete(recount, 0)
	// Lock the threads whose counts change, in id order, reading how many reactions each
	// lists on its own.
	var reactionItems map[uint64]lockedThread
	if len(added) > 0 || len(recount) > 0 {
		ids := make([]uint64, 0, len(added)+len(recount))
		for id := range recount {
			ids = append(ids, id)
		}
		for _, d := range added {
			ids = append(ids, d.threadID)
		}
		if reactionItems, err = db.lockThreads(ctx, ids); err != nil {
			return res, err
		}
		// The threads were made, and the contacts resolved, before this transaction: a
		// changed-number link committed since may have merged one into another (or renamed
		// it). Then everything is resolved again (errThreadsMoved).
		contacts := make([]string, 0, len(added))
		for contact, d := range added {
			if t, ok := reactionItems[d.threadID]; !ok || t.contact != contact {
				return res, errThreadsMoved
			}
			contacts = append(contacts, contact)
		}
		if moved, err := db.movedContacts(ctx, pnid, contacts); err != nil {
			return res, err
		} else if moved {
			return res, errThreadsMoved
		}
	}
	// Reactions that are listed items, or stop being ones (their message arrived, a later
	// reaction replaced them): read once the threads are locked (see reactionItemDeltas).
	// Only a number with a thread that lists reactions can hold one waiting for a message
	// stored now: usually the message's own thread, but not always (a contact known by two
	// identities until they are linked).
	var waited []string
	if len(insertedMessages) > 0 {
		waiting, err := db.hasReactionItems(ctx, pnid, reactionItems)
		if err != nil {
			return res, err
		}
		for _, r := range insertedMessages {
			if waiting || recount[r.ThreadID] {
				waited = append(waited, r.WAMID)
			}
		}
	}
	var items map[uint64]int
	if len(insertedReactions) > 0 || len(waited) > 0 {
		if items, err = db.reactionItemDeltas(ctx, pnid, insertedReactions, waited); err != nil {
			return res, err
		}
		var more []uint64
		for id := range items {
			if _, ok := reactionItems[id]; !ok {
				more = append(more, id)
			}
		}
		if len(more) > 0 {
			if _, err := db.lockThreads(ctx, more); err != nil {
				return res, err
			}
		}
	}
	for c, d := range added {
		if recount[d.threadID] {
			delete(added, c)
		}
	}
	for id := range recount {
		delete(items, id)
	}
	if err := db.addToThreads(ctx, pnid, added); err != nil {
		return res, err
	}
	if err := db.addThreadItems(ctx, items); err != nil {
		return res, err
	}
	if err := db.recountThreads(ctx, recount); err != nil {
		return res, err
	}
	return res, nil
}

const ingestMessageSelect = "SELECT id, wamid, thread_id, contact_wa_id, direction, type, text, ts, status, origin, edited, deleted, " +
	"media_id, mime_type, reaction_to, phase, chunk_order, position, raw FROM messages"

// readMessages returns the stored messages of a number with these wamids, locked until the
// transaction ends on MySQL (READ COMMITTED: only the rows found are locked, no gaps).
func (db *DB) readMessages(ctx context.Context, pnid string, wamids []string) (map[string]msgRow, error) {
	out := make(map[string]msgRow, len(wamids))
	batch := db.keysPerStatement()
	for start := 0; start < len(wamids); start += batch {
		part := wamids[start:min(start+batch, len(wamids))]
		q := ingestMessageSelect + " WHERE phone_number_id = ? AND wamid IN (" + sqlPlaceholders(len(part)) + ")"
		if db.dialect == MySQL {
			q += " FOR UPDATE"
		}
		err := db.rawQuery(ctx, q, append([]any{pnid}, sqlStringArgs(part)...), func(r *sql.Rows) error {
			var m msgRow
			if err := r.Scan(&m.ID, &m.WAMID, &m.ThreadID, &m.ContactWAID, &m.Direction, &m.Type, &m.Text, &m.TS,
				&m.Status, &m.Origin, &m.Edited, &m.Deleted, &m.MediaID, &m.MimeType, &m.ReactionTo,
				&m.Phase, &m.ChunkOrder, &m.Position, &m.Raw); err != nil {
				return err
			}
			out[m.WAMID] = m
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read messages: %w", err)
		}
	}
	return out, nil
}

// webhookStatuses returns, for messages about to be created, the highest status their
// status webhooks reported before they arrived.
func (db *DB) webhookStatuses(ctx context.Context, pnid string, wamids []string) (map[string]string, error) {
	// Most new messages never had a status webhook: probe the number once first.
	found := false
	err := db.rawQuery(ctx, "SELECT 1 FROM message_events WHERE phone_number_id = ? AND source = ? LIMIT 1",
		[]any{pnid, EventSourceWebhook}, func(*sql.Rows) error { found = true; return nil })
	if err != nil || !found {
		return nil, err
	}
	out := map[string]string{}
	batch := db.keysPerStatement()
	for start := 0; start < len(wamids); start += batch {
		part := wamids[start:min(start+batch, len(wamids))]
		q := "SELECT wamid, delivery_status FROM message_events WHERE phone_number_id = ? AND wamid IN (" +
			sqlPlaceholders(len(part)) + ") AND source = ?"
		args := append(append([]any{pnid}, sqlStringArgs(part)...), EventSourceWebhook)
		err := db.rawQuery(ctx, q, args, func(r *sql.Rows) error {
			var w, st string
			if err := r.Scan(&w, &st); err != nil {
				return err
			}
			out[w] = coex.MergeStatus(out[w], st)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read status events: %w", err)
		}
	}
	return out, nil
}

// upsertMessages writes merged rows with multi-row upserts keyed by (phone_number_id, wamid).
func (db *DB) upsertMessages(ctx context.Context, pnid string, rows []*msgRow) (affected int64, err error) {
	if len(rows) == 0 {
		return 0, nil
	}
	cols := len(MessageColumns)
	statement := MessageUpsert(db.dialect, "messages")
	now := db.now()
	batch := db.rowsPerStatement(cols)
	// A chunk takes several full-size statements: prepare that one once (SQLite writes in
	// many small statements; MariaDB then gets the values in the binary protocol).
	var full *sql.Stmt
	defer func() {
		if full != nil {
			_ = full.Close()
		}
	}()
	for start := 0; start < len(rows); start += batch {
		// Not on SQLite: its one writer would keep the lock the webhook's insert waits for.
		if start > 0 && db.pace != nil && db.dialect == MySQL {
			db.pace(ctx)
		}
		part := rows[start:min(start+batch, len(rows))]
		args := make([]any, 0, len(part)*cols)
		for _, r := range part {
			args = append(args, pnid, r.WAMID, r.ThreadID, r.ContactWAID, r.Direction, r.Type, r.Text, r.TS,
				r.Status, r.Origin, r.Edited, r.Deleted, r.MediaID, r.MimeType, r.ReactionTo,
				r.Phase, r.ChunkOrder, r.Position, r.Raw, now, now)
		}
		var n int64
		if len(part) == batch && len(rows) > batch {
			if full == nil {
				if full, err = db.gorm.Statement.ConnPool.PrepareContext(ctx, statement(batch)); err != nil {
					return affected, fmt.Errorf("upsert messages: %w", err)
				}
			}
			var res sql.Result
			if res, err = full.ExecContext(ctx, args...); err == nil {
				n, err = res.RowsAffected()
			}
		} else {
			n, err = db.rawExec(ctx, statement(len(part)), args...)
		}
		if err != nil {
			return affected, fmt.Errorf("upsert messages: %w", err)
		}
		affected += n
	}
	return affected, nil
}

func uniqueWAMIDs(rows []msgRow) []string {
	seen := make(map[string]bool, len(rows))
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if !seen[r.WAMID] {
			seen[r.WAMID] = true
			out = append(out, r.WAMID)
		}
	}
	return out
}
