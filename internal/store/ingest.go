package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/models"
)

// Applying webhooks to threads and messages.
//
// Every Apply* method runs in one transaction and is idempotent: applying the same input
// again writes nothing. Messages are merged field by field with rules that do not depend on
// arrival order (see mergeRow), so any order, duplication or re-batching of the same
// deliveries gives the same rows.
//
// Concurrency: a transaction that writes messages of a thread first locks the thread row
// (MySQL/MariaDB run these transactions at READ COMMITTED, so every read after the lock
// sees the latest committed rows). Deadlocks and lock timeouts are retried. SQLite runs
// one writer at a time.

// EventSourceEcho marks message events recorded from smb_message_echoes (edits and revokes);
// they keep the audit trail and put out-of-order edits in order.
const EventSourceEcho = "echo"

// Event statuses of EventSourceEcho events.
const (
	echoEventEdited  = "edited"
	echoEventRevoked = "revoked"
)

// ApplyResult counts what an apply wrote.
type ApplyResult struct {
	Inserted int // messages created
	Updated  int // existing messages changed
	Skipped  int // items that named an unknown message and were only recorded (statuses)

	// Rejected lists the messages the database refused (see IsPermanent); every other
	// message was stored.
	Rejected []Rejected
}

// ChunkInput is one history chunk of one business number.
type ChunkInput struct {
	PhoneNumberID string
	InboxID       uint64 // the inbox row the chunk came from, recorded in the ledger
	Chunk         coex.Chunk
}

// ChunkResult is what ApplyChunk did.
type ChunkResult struct {
	ApplyResult
	NewChunk bool // the chunk was not in the ledger yet (the sync run moved forward)
}

// ApplyChunk stores one history chunk in one transaction: its ledger row, its threads and
// messages (multi-row upserts keyed by (phone_number_id, wamid)), the threads' counts and
// time span, and the number's sync run (created when missing: progress is the maximum seen,
// progress 100 completes it whatever the order; complete and declined are final). A chunk
// already in the ledger changes no sync run; its messages are merged again, which writes
// nothing when they are already stored.
func (db *DB) ApplyChunk(ctx context.Context, in ChunkInput) (ChunkResult, error) {
	if in.PhoneNumberID == "" {
		return ChunkResult{}, errors.New("apply chunk: no phone_number_id")
	}
	for attempt := 1; ; attempt++ {
		res, err := db.applyChunk(ctx, in)
		if !errors.Is(err, errThreadsMoved) || attempt == threadsMovedAttempts {
			return res, err
		}
	}
}

// threadsMovedAttempts bounds how often an apply starts again because a thread it wrote to
// was merged meanwhile (errThreadsMoved); each merge happens once.
const threadsMovedAttempts = 4

func (db *DB) applyChunk(ctx context.Context, in ChunkInput) (ChunkResult, error) {
	rows := make([]msgRow, 0, len(in.Chunk.Messages))
	for _, m := range in.Chunk.Messages {
		if m.WAMID == "" {
			continue
		}
		rows = append(rows, rowFromMessage(m, in.Chunk.Phase, in.Chunk.ChunkOrder))
	}
	named, err := db.resolveKeys(ctx, in.PhoneNumberID, in.Chunk.Messages, rows)
	if err != nil {
		return ChunkResult{}, fmt.Errorf("apply chunk %d/%d of %s: %w", in.Chunk.Phase, in.Chunk.ChunkOrder, in.PhoneNumberID, err)
	}
	threads, err := db.threadsFor(ctx, in.PhoneNumberID, rows, nil)
	if err == nil {
		err = named.apply(ctx, db, in.PhoneNumberID)
	}
	if err != nil {
		return ChunkResult{}, fmt.Errorf("apply chunk %d/%d of %s: %w", in.Chunk.Phase, in.Chunk.ChunkOrder, in.PhoneNumberID, err)
	}
	var (
		res      ChunkResult
		isolated ApplyResult
	)
	apply := func() error {
		return db.applyTx(ctx, func(tx *DB) error {
			res = ChunkResult{}
			return tx.applyChunkTx(ctx, in, rows, threads, &res)
		})
	}
	err = apply()
	if IsPermanent(err) {
		// A message the database refuses: store every other one (in parts, each committed),
		// then the chunk without the refused ones.
		isolated, err = db.isolateMessages(ctx, in.PhoneNumberID, rows, threads)
		if err == nil {
			rows = without(rows, isolated.Rejected)
			err = apply()
		}
	}
	if err != nil {
		return ChunkResult{}, fmt.Errorf("apply chunk %d/%d of %s: %w", in.Chunk.Phase, in.Chunk.ChunkOrder, in.PhoneNumberID, err)
	}
	res.Inserted += isolated.Inserted
	res.Updated += isolated.Updated
	res.Rejected = isolated.Rejected
	return res, nil
}

// applyChunkTx is ApplyChunk's transaction: ledger, messages, sync run.
func (db *DB) applyChunkTx(ctx context.Context, in ChunkInput, rows []msgRow, threads map[string]uint64, res *ChunkResult) error {
	now := db.now()
	isNew, err := db.insertChunkLedger(ctx, in, now)
	if err != nil {
		return err
	}
	res.NewChunk = isNew
	if res.ApplyResult, err = db.mergeMessages(ctx, in.PhoneNumberID, rows, threads, mergeRow); err != nil {
		return err
	}
	if !isNew {
		return nil
	}
	reason := fmt.Sprintf("chunk %d/%d, progress %d %%", in.Chunk.Phase, in.Chunk.ChunkOrder, in.Chunk.Progress)
	return db.auditSyncState(ctx, in.PhoneNumberID, reason, func() error {
		return db.advanceSyncRun(ctx, in.PhoneNumberID, in.Chunk.Progress, now)
	})
}

// isolateMessages stores rows part by part, each in its own transaction, leaving out the
// ones the database refuses (see isolate).
func (db *DB) isolateMessages(ctx context.Context, pnid string, rows []msgRow, threads map[string]uint64) (ApplyResult, error) {
	res, rejected, err := isolate(ctx, rows, func(part []msgRow) (ApplyResult, error) {
		var r ApplyResult
		err := db.applyTx(ctx, func(tx *DB) error {
			var err error
			r, err = tx.mergeMessages(ctx, pnid, part, threads, mergeRow)
			return err
		})
		return r, err
	})
	res.Rejected = rejected
	return res, err
}

func (db *DB) insertChunkLedger(ctx context.Context, in ChunkInput, now time.Time) (bool, error) {
	q := "INSERT INTO history_chunks (phone_number_id, phase, chunk_order, progress, thread_count, message_count, inbox_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	if db.dialect == MySQL {
		q += " ON DUPLICATE KEY UPDATE id = id"
	} else {
		q += " ON CONFLICT (phone_number_id, phase, chunk_order) DO NOTHING"
	}
	n, err := db.rawExec(ctx, q, in.PhoneNumberID, in.Chunk.Phase, in.Chunk.ChunkOrder, in.Chunk.Progress,
		in.Chunk.ThreadCount, len(in.Chunk.Messages), in.InboxID, now)
	if err != nil {
		return false, fmt.Errorf("chunk ledger: %w", err)
	}
	return n == 1, nil
}

// ApplyMediaUpdates applies history media follow-ups: the placeholder with the same wamid
// becomes the real type with its media id, mime type and caption. A follow-up that arrives
// before its placeholder is stored as the message, and the placeholder never downgrades it.
func (db *DB) ApplyMediaUpdates(ctx context.Context, phoneNumberID string, msgs []coex.Message) (ApplyResult, error) {
	return db.applyMessages(ctx, "apply media updates", phoneNumberID, msgs)
}

// ApplyMessages stores echo (sent from the WhatsApp Business app) and live messages with
// their threads. Messages already stored (e.g. from history) are merged, never duplicated.
func (db *DB) ApplyMessages(ctx context.Context, phoneNumberID string, msgs []coex.Message) (ApplyResult, error) {
	return db.applyMessages(ctx, "apply messages", phoneNumberID, msgs)
}

func (db *DB) applyMessages(ctx context.Context, op, pnid string, msgs []coex.Message) (ApplyResult, error) {
	if len(msgs) == 0 {
		return ApplyResult{}, nil
	}
	if pnid == "" {
		return ApplyResult{}, fmt.Errorf("%s: no phone_number_id", op)
	}
	for attempt := 1; ; attempt++ {
		res, err := db.applyMessagesOnce(ctx, op, pnid, msgs)
		if !errors.Is(err, errThreadsMoved) || attempt == threadsMovedAttempts {
			return res, err
		}
	}
}

func (db *DB) applyMessagesOnce(ctx context.Context, op, pnid string, msgs []coex.Message) (ApplyResult, error) {
	rows := make([]msgRow, 0, len(msgs))
	names := map[string]string{}
	for _, m := range msgs {
		if m.WAMID == "" {
			continue
		}
		rows = append(rows, rowFromMessage(m, noChunk, noChunk))
	}
	named, err := db.resolveKeys(ctx, pnid, msgs, rows)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("%s of %s: %w", op, pnid, err)
	}
	for i, m := range msgs {
		if m.WAMID != "" && m.ContactName != "" {
			if k := rows[min(i, len(rows)-1)].ContactWAID; rows[min(i, len(rows)-1)].WAMID == clip(m.WAMID, 191) && k != "" {
				names[k] = m.ContactName
			} else if k := keyOf(rows, m.WAMID); k != "" {
				names[k] = m.ContactName
			}
		}
	}
	threads, err := db.threadsFor(ctx, pnid, rows, names)
	if err == nil {
		err = named.apply(ctx, db, pnid)
	}
	if err != nil {
		return ApplyResult{}, fmt.Errorf("%s of %s: %w", op, pnid, err)
	}
	var res ApplyResult
	err = db.applyTx(ctx, func(tx *DB) error {
		var err error
		res, err = tx.mergeMessages(ctx, pnid, rows, threads, mergeRow)
		return err
	})
	if IsPermanent(err) {
		res, err = db.isolateMessages(ctx, pnid, rows, threads)
	}
	if err != nil {
		return ApplyResult{}, fmt.Errorf("%s of %s: %w", op, pnid, err)
	}
	return res, nil
}

// ApplyEdits applies edits, the business's (made in the WhatsApp Business app, echoes) and the
// customer's (messages webhook): the original message takes the new text and is marked
// edited; its raw JSON keeps the earlier text. Each edit is also kept as a message event
// (source "echo"), so that of several edits the latest (by timestamp) wins in any arrival
// order. An edit of a message not stored yet creates that message as type "unknown" with the
// new text, in the edit's direction (outbound for the business's, inbound for the
// customer's); when the message itself arrives it fills in type and time and keeps the
// edited text.
func (db *DB) ApplyEdits(ctx context.Context, phoneNumberID string, edits []coex.Edit) (ApplyResult, error) {
	if len(edits) == 0 {
		return ApplyResult{}, nil
	}
	if phoneNumberID == "" {
		return ApplyResult{}, errors.New("apply edits: no phone_number_id")
	}
	rows := make([]msgRow, 0, len(edits))
	events := make([]models.MessageEvent, 0, len(edits))
	who := make([]coex.Message, 0, len(edits))
	for _, e := range edits {
		if e.OriginalWAMID == "" {
			continue
		}
		rows = append(rows, stubRow(e.OriginalWAMID, e.ContactWAID, e.Direction, e.Origin, e.Timestamp, e.Raw, e.NewText, true, false))
		ev := echoEvent(phoneNumberID, e.OriginalWAMID, echoEventEdited, e.WAMID, e.Timestamp)
		ev.Text = e.NewText
		events = append(events, ev)
		who = append(who, coex.Message{WAMID: e.OriginalWAMID, ContactWAID: e.ContactWAID, ContactUserID: e.ContactUserID})
	}
	return db.applyToOriginals(ctx, "apply edits", phoneNumberID, rows, events, who, func(tx *DB) (merger, error) {
		latest, err := tx.latestEdits(ctx, phoneNumberID, rows)
		if err != nil {
			return nil, err
		}
		return func(cur *msgRow, in msgRow) (msgRow, bool) {
			if cur == nil {
				return in, true
			}
			out := *cur
			if in.TS >= latest[in.WAMID] {
				out.Text, out.Edited = in.Text, true
			}
			return out, true
		}, nil
	})
}

// applyToOriginals is the common path of edits and revokes: the original messages' contacts
// are resolved and their threads made, then, in one transaction, the change's events are
// kept and the originals merged with the merger that mergerIn builds inside it.
func (db *DB) applyToOriginals(ctx context.Context, op, pnid string, rows []msgRow, events []models.MessageEvent,
	who []coex.Message, mergerIn func(tx *DB) (merger, error)) (ApplyResult, error) {
	named, err := db.resolveKeys(ctx, pnid, who, rows)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("%s of %s: %w", op, pnid, err)
	}
	threads, err := db.threadsFor(ctx, pnid, rows, nil)
	if err == nil {
		err = named.apply(ctx, db, pnid)
	}
	if err != nil {
		return ApplyResult{}, fmt.Errorf("%s of %s: %w", op, pnid, err)
	}
	var res ApplyResult
	err = db.applyTx(ctx, func(tx *DB) error {
		if err := tx.insertEvents(ctx, events); err != nil {
			return err
		}
		merge, err := mergerIn(tx)
		if err != nil {
			return err
		}
		res, err = tx.mergeMessages(ctx, pnid, rows, threads, merge)
		return err
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("%s of %s: %w", op, pnid, err)
	}
	return res, nil
}

// latestEdits returns the timestamp of the latest recorded edit of each message.
func (db *DB) latestEdits(ctx context.Context, pnid string, rows []msgRow) (map[string]int64, error) {
	out := map[string]int64{}
	wamids := uniqueWAMIDs(rows)
	batch := db.keysPerStatement()
	for start := 0; start < len(wamids); start += batch {
		part := wamids[start:min(start+batch, len(wamids))]
		q := "SELECT wamid, MAX(occurrence_ts) FROM message_events WHERE phone_number_id = ? AND source = ? AND delivery_status = ? AND wamid IN (" +
			sqlPlaceholders(len(part)) + ") GROUP BY wamid"
		args := append([]any{pnid, EventSourceEcho, echoEventEdited}, sqlStringArgs(part)...)
		err := db.rawQuery(ctx, q, args, func(r *sql.Rows) error {
			var w string
			var ts int64
			if err := r.Scan(&w, &ts); err != nil {
				return err
			}
			out[w] = ts
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("latest edits: %w", err)
		}
	}
	return out, nil
}

// ApplyRevokes marks messages their sender deleted (the business in the app, or the customer)
// as deleted; their text is kept for the record. A revoke of a message not stored yet
// creates it as type "unknown", deleted, in the revoke's direction; the message's own
// delivery later fills it in and it stays deleted.
func (db *DB) ApplyRevokes(ctx context.Context, phoneNumberID string, revokes []coex.Revoke) (ApplyResult, error) {
	if len(revokes) == 0 {
		return ApplyResult{}, nil
	}
	if phoneNumberID == "" {
		return ApplyResult{}, errors.New("apply revokes: no phone_number_id")
	}
	rows := make([]msgRow, 0, len(revokes))
	events := make([]models.MessageEvent, 0, len(revokes))
	who := make([]coex.Message, 0, len(revokes))
	for _, r := range revokes {
		if r.OriginalWAMID == "" {
			continue
		}
		rows = append(rows, stubRow(r.OriginalWAMID, r.ContactWAID, r.Direction, r.Origin, r.Timestamp, r.Raw, "", false, true))
		events = append(events, echoEvent(phoneNumberID, r.OriginalWAMID, echoEventRevoked, r.WAMID, r.Timestamp))
		who = append(who, coex.Message{WAMID: r.OriginalWAMID, ContactWAID: r.ContactWAID, ContactUserID: r.ContactUserID})
	}
	return db.applyToOriginals(ctx, "apply revokes", phoneNumberID, rows, events, who, func(*DB) (merger, error) {
		return func(cur *msgRow, in msgRow) (msgRow, bool) {
			if cur == nil {
				return in, true
			}
			out := *cur
			out.Deleted = true
			return out, true
		}, nil
	})
}

// ApplyStatuses applies live status webhooks: each is kept as a message event (source
// "webhook", key "<status>:<timestamp>", deduplicated) and merged into the message's status
// monotonically (a late "delivered" never lowers "read"; error is final). A status of a
// message not stored yet stands for a message another system sent through the Cloud API:
// it is stored as an outbound message of origin api (type unknown, the status object as its
// raw JSON) in the recipient's thread; its content, if an echo or a history chunk brings it
// later, merges into it.
func (db *DB) ApplyStatuses(ctx context.Context, phoneNumberID string, statuses []coex.StatusUpdate) (ApplyResult, error) {
	if len(statuses) == 0 {
		return ApplyResult{}, nil
	}
	if phoneNumberID == "" {
		return ApplyResult{}, errors.New("apply statuses: no phone_number_id")
	}
	rows := make([]msgRow, 0, len(statuses))
	events := make([]models.MessageEvent, 0, len(statuses))
	who := make([]coex.Message, 0, len(statuses))
	for _, s := range statuses {
		if s.WAMID == "" || s.Status == "" {
			continue
		}
		row := stubRow(s.WAMID, s.RecipientWAID, models.DirectionOutbound, models.OriginAPI, s.Timestamp, s.Raw, "", false, false)
		row.Status = clip(coex.NormalizeStatus(s.Status), 16)
		rows = append(rows, row)
		who = append(who, coex.Message{WAMID: s.WAMID, ContactWAID: s.RecipientWAID, ContactUserID: s.RecipientUserID, ContactUsername: s.RecipientUsername})
		ev := models.MessageEvent{
			PhoneNumberID:  phoneNumberID,
			WAMID:          s.WAMID,
			Source:         EventSourceWebhook,
			EventKey:       coex.NormalizeStatus(s.Status) + ":" + strconv.FormatInt(s.Timestamp, 10),
			DeliveryStatus: coex.NormalizeStatus(s.Status),
			OccurrenceTS:   s.Timestamp,
		}
		if s.ErrorCode != 0 || s.ErrorTitle != "" {
			ev.ErrorDescription = strings.TrimSpace(fmt.Sprintf("%d %s", s.ErrorCode, s.ErrorTitle))
		}
		events = append(events, ev)
	}
	named, err := db.resolveKeys(ctx, phoneNumberID, who, rows)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply statuses of %s: %w", phoneNumberID, err)
	}
	threads, err := db.threadsFor(ctx, phoneNumberID, rows, nil)
	if err == nil {
		err = named.apply(ctx, db, phoneNumberID)
	}
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply statuses of %s: %w", phoneNumberID, err)
	}
	var res ApplyResult
	err = db.applyTx(ctx, func(tx *DB) error {
		if err := tx.insertEvents(ctx, events); err != nil {
			return err
		}
		var err error
		res, err = tx.mergeMessages(ctx, phoneNumberID, rows, threads, func(cur *msgRow, in msgRow) (msgRow, bool) {
			if cur == nil {
				// Not stored: a message sent through the API by another system. Without a
				// recipient it has no thread; it is then only kept as events.
				return in, in.ContactWAID != ""
			}
			out := *cur
			out.Status = coex.MergeStatus(cur.Status, in.Status)
			if out.Origin == models.OriginAPI && in.TS > 0 && in.TS < out.TS {
				out.TS = in.TS // sent no later than its earliest status
			}
			return out, true
		})
		return err
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply statuses of %s: %w", phoneNumberID, err)
	}
	return res, nil
}

func echoEvent(pnid, wamid, status, echoWAMID string, ts int64) models.MessageEvent {
	key := status + ":" + echoWAMID
	if echoWAMID == "" {
		key = status + ":" + strconv.FormatInt(ts, 10)
	}
	return models.MessageEvent{
		PhoneNumberID:  pnid,
		WAMID:          wamid,
		Source:         EventSourceEcho,
		EventKey:       clip(key, 128),
		DeliveryStatus: status,
		OccurrenceTS:   ts,
	}
}

// insertEvents stores events once each (a repeated key is left as stored).
func (db *DB) insertEvents(ctx context.Context, events []models.MessageEvent) error {
	now := db.now()
	batch := db.rowsPerStatement(9)
	for start := 0; start < len(events); start += batch {
		part := events[start:min(start+batch, len(events))]
		var b strings.Builder
		b.WriteString("INSERT INTO message_events (phone_number_id, wamid, source, event_key, delivery_status, occurrence_ts, status_ts, " +
			"application_id, application_name, error_description, webhook_update_state, webhook_uri, text, created_at) VALUES ")
		args := make([]any, 0, len(part)*9)
		for i, e := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, 0, '', '', ?, '', '', ?, ?)")
			args = append(args, e.PhoneNumberID, clip(e.WAMID, 191), e.Source, clip(e.EventKey, 128),
				clip(e.DeliveryStatus, 32), e.OccurrenceTS, clip(e.ErrorDescription, 1000), clipMarked(validText(e.Text), 60000), now)
		}
		if db.dialect == MySQL {
			b.WriteString(" ON DUPLICATE KEY UPDATE id = id")
		} else {
			b.WriteString(" ON CONFLICT (phone_number_id, wamid, source, event_key) DO NOTHING")
		}
		if _, err := db.rawExec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert message events: %w", err)
		}
	}
	return nil
}
