package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

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

// TypeUnknown is the type of a message known only from an edit or revoke that arrived
// before the message itself. The message's own delivery replaces it.
const TypeUnknown = "unknown"

// Event statuses of EventSourceEcho events.
const (
	echoEventEdited  = "edited"
	echoEventRevoked = "revoked"
)

// noChunk is the phase and chunk order of messages that did not come in a history chunk.
const noChunk = -1

// Statement sizes. MySQL takes 1,000 rows or keys per statement. The SQLite driver binds
// arguments in time quadratic in their number, so SQLite statements stay small; SQLite has
// no network round trip, so many small statements cost little.
const (
	mysqlRowsPerStatement  = 1000
	sqliteArgsPerStatement = 400
	sqliteKeysPerStatement = 250
)

// rowsPerStatement is how many rows of cols columns one multi-row statement writes.
func (db *DB) rowsPerStatement(cols int) int {
	if db.dialect == MySQL {
		return mysqlRowsPerStatement
	}
	return max(1, sqliteArgsPerStatement/cols)
}

// keysPerStatement is how many keys one IN list holds.
func (db *DB) keysPerStatement() int {
	if db.dialect == MySQL {
		return mysqlRowsPerStatement
	}
	return sqliteKeysPerStatement
}

// ApplyResult counts what an apply wrote.
type ApplyResult struct {
	Inserted int // messages created
	Updated  int // existing messages changed
	Skipped  int // items that named an unknown message and were only recorded (statuses)
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
	rows := make([]msgRow, 0, len(in.Chunk.Messages))
	for _, m := range in.Chunk.Messages {
		if m.WAMID == "" {
			continue
		}
		rows = append(rows, rowFromMessage(m, in.Chunk.Phase, in.Chunk.ChunkOrder))
	}
	threads, err := db.threadsFor(ctx, in.PhoneNumberID, rows, nil)
	if err != nil {
		return ChunkResult{}, fmt.Errorf("apply chunk %d/%d of %s: %w", in.Chunk.Phase, in.Chunk.ChunkOrder, in.PhoneNumberID, err)
	}
	var res ChunkResult
	err = db.applyTx(ctx, func(tx *DB) error {
		res = ChunkResult{}
		now := tx.now()
		isNew, err := tx.insertChunkLedger(ctx, in, now)
		if err != nil {
			return err
		}
		res.NewChunk = isNew
		if res.ApplyResult, err = tx.mergeMessages(ctx, in.PhoneNumberID, rows, threads, mergeRow); err != nil {
			return err
		}
		if !isNew {
			return nil
		}
		reason := fmt.Sprintf("chunk %d/%d, progress %d %%", in.Chunk.Phase, in.Chunk.ChunkOrder, in.Chunk.Progress)
		return tx.auditSyncState(ctx, in.PhoneNumberID, reason, func() error {
			return tx.advanceSyncRun(ctx, in.PhoneNumberID, in.Chunk.Progress, now)
		})
	})
	if err != nil {
		return ChunkResult{}, fmt.Errorf("apply chunk %d/%d of %s: %w", in.Chunk.Phase, in.Chunk.ChunkOrder, in.PhoneNumberID, err)
	}
	return res, nil
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

// advanceSyncRun records a new chunk in the number's sync run, as syncer.Next has it: a
// chunk moves any run but a complete or declined one to receiving (a failed or timed-out
// one too: Meta is sending), progress 100 completes it. MySQL evaluates the
// assignments left to right on the updated row, so each one reads only columns assigned
// after it.
func (db *DB) advanceSyncRun(ctx context.Context, pnid string, progress int, now time.Time) error {
	state := models.SyncReceiving
	var completedAt *time.Time
	if progress >= 100 {
		state, completedAt = models.SyncComplete, &now
	}
	final := "('" + models.SyncComplete + "', '" + models.SyncDeclined + "')"
	var q string
	if db.dialect == MySQL {
		q = insertSyncRun + ` ON DUPLICATE KEY UPDATE
  completed_at = CASE WHEN state NOT IN ` + final + ` AND GREATEST(progress, VALUES(progress)) >= 100 THEN COALESCE(completed_at, VALUES(updated_at)) ELSE completed_at END,
  state = CASE WHEN state IN ` + final + ` THEN state WHEN GREATEST(progress, VALUES(progress)) >= 100 THEN '` + models.SyncComplete + `' ELSE '` + models.SyncReceiving + `' END,
  progress = GREATEST(progress, VALUES(progress)),
  first_chunk_at = COALESCE(first_chunk_at, VALUES(first_chunk_at)),
  last_chunk_at = VALUES(last_chunk_at),
  updated_at = VALUES(updated_at)`
	} else {
		q = insertSyncRun + ` ON CONFLICT (phone_number_id) DO UPDATE SET
  completed_at = CASE WHEN sync_runs.state NOT IN ` + final + ` AND MAX(sync_runs.progress, excluded.progress) >= 100 THEN COALESCE(sync_runs.completed_at, excluded.updated_at) ELSE sync_runs.completed_at END,
  state = CASE WHEN sync_runs.state IN ` + final + ` THEN sync_runs.state WHEN MAX(sync_runs.progress, excluded.progress) >= 100 THEN '` + models.SyncComplete + `' ELSE '` + models.SyncReceiving + `' END,
  progress = MAX(sync_runs.progress, excluded.progress),
  first_chunk_at = COALESCE(sync_runs.first_chunk_at, excluded.first_chunk_at),
  last_chunk_at = excluded.last_chunk_at,
  updated_at = excluded.updated_at`
	}
	if _, err := db.rawExec(ctx, q, pnid, state, progress, nil, now, now, completedAt, 0, "", now); err != nil {
		return fmt.Errorf("sync run progress: %w", err)
	}
	return nil
}

// auditSyncState runs change inside the caller's transaction and, when it moved the number's
// sync run to another state, records that in the audit log (actor "webhook"). The run's row
// is locked first, so concurrent chunks see the transitions one after the other.
func (db *DB) auditSyncState(ctx context.Context, pnid, reason string, change func() error) error {
	before, err := db.syncState(ctx, pnid, true)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, err := db.syncState(ctx, pnid, false)
	if err != nil || after == before {
		return err
	}
	if before == "" {
		before = models.SyncNotRequested
	}
	return db.Audit(ctx, models.AuditEntry{Actor: "webhook", Action: "sync.state", Target: pnid,
		Detail: before + " → " + after + " (" + reason + ")"})
}

// syncState reads the state of a number's sync run ("" when it has none), optionally
// locking the row for the rest of the transaction.
func (db *DB) syncState(ctx context.Context, pnid string, lock bool) (string, error) {
	q := "SELECT state FROM sync_runs WHERE phone_number_id = ?"
	if lock && db.dialect == MySQL {
		q += " FOR UPDATE"
	}
	state := ""
	err := db.rawQuery(ctx, q, []any{pnid}, func(r *sql.Rows) error { return r.Scan(&state) })
	if err != nil {
		return "", fmt.Errorf("read sync state: %w", err)
	}
	return state, nil
}

const insertSyncRun = `INSERT INTO sync_runs (phone_number_id, state, progress, contacts_request_id, history_request_id,
  requested_at, first_chunk_at, last_chunk_at, completed_at, error_code, error_message, updated_at)
  VALUES (?, ?, ?, '', '', ?, ?, ?, ?, ?, ?, ?)`

// ApplyHistoryErrors records history errors on the number's sync run (created when
// missing): code 2593109 declines the sync (final unless it is already complete); any
// other code fails it (unless complete or declined) and is kept with its message for staff.
func (db *DB) ApplyHistoryErrors(ctx context.Context, phoneNumberID string, errs []coex.HistoryError) error {
	if len(errs) == 0 {
		return nil
	}
	if phoneNumberID == "" {
		return errors.New("apply history errors: no phone_number_id")
	}
	err := db.applyTx(ctx, func(tx *DB) error {
		for _, he := range errs {
			reason := fmt.Sprintf("history error %d", he.Code)
			if err := tx.auditSyncState(ctx, phoneNumberID, reason, func() error {
				return tx.recordHistoryError(ctx, phoneNumberID, he)
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply history errors of %s: %w", phoneNumberID, err)
	}
	return nil
}

func (db *DB) recordHistoryError(ctx context.Context, pnid string, he coex.HistoryError) error {
	now := db.now()
	msg := clipString(historyErrorText(he), 1000)
	state := models.SyncFailed
	// keep: the states this error does not change.
	keep := "('" + models.SyncComplete + "', '" + models.SyncDeclined + "')"
	if he.Declined() {
		state = models.SyncDeclined
		keep = "('" + models.SyncComplete + "')"
	}
	var q string
	if db.dialect == MySQL {
		q = insertSyncRun + ` ON DUPLICATE KEY UPDATE
  error_code = CASE WHEN state = '` + models.SyncDeclined + `' THEN error_code ELSE VALUES(error_code) END,
  error_message = CASE WHEN state = '` + models.SyncDeclined + `' THEN error_message ELSE VALUES(error_message) END,
  state = CASE WHEN state IN ` + keep + ` THEN state ELSE VALUES(state) END,
  updated_at = VALUES(updated_at)`
	} else {
		q = insertSyncRun + ` ON CONFLICT (phone_number_id) DO UPDATE SET
  error_code = CASE WHEN sync_runs.state = '` + models.SyncDeclined + `' THEN sync_runs.error_code ELSE excluded.error_code END,
  error_message = CASE WHEN sync_runs.state = '` + models.SyncDeclined + `' THEN sync_runs.error_message ELSE excluded.error_message END,
  state = CASE WHEN sync_runs.state IN ` + keep + ` THEN sync_runs.state ELSE excluded.state END,
  updated_at = excluded.updated_at`
	}
	if _, err := db.rawExec(ctx, q, pnid, state, 0, nil, nil, nil, nil, he.Code, msg, now); err != nil {
		return fmt.Errorf("sync run error %d: %w", he.Code, err)
	}
	return nil
}

func historyErrorText(he coex.HistoryError) string {
	text := he.Message
	if text == "" {
		text = he.Title
	}
	if he.Details != "" && he.Details != text {
		if text != "" {
			text += ": "
		}
		text += he.Details
	}
	return text
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
	rows := make([]msgRow, 0, len(msgs))
	names := map[string]string{}
	for _, m := range msgs {
		if m.WAMID == "" {
			continue
		}
		rows = append(rows, rowFromMessage(m, noChunk, noChunk))
		if m.ContactName != "" && m.ContactWAID != "" {
			names[m.ContactWAID] = m.ContactName
		}
	}
	threads, err := db.threadsFor(ctx, pnid, rows, names)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("%s of %s: %w", op, pnid, err)
	}
	var res ApplyResult
	err = db.applyTx(ctx, func(tx *DB) error {
		var err error
		res, err = tx.mergeMessages(ctx, pnid, rows, threads, mergeRow)
		return err
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("%s of %s: %w", op, pnid, err)
	}
	return res, nil
}

// ApplyEdits applies edits made in the WhatsApp Business app: the original message takes
// the new text and is marked edited. Each edit is also kept as a message event (source
// "echo"), so that of several edits the latest (by timestamp) wins in any arrival order. An
// edit of a message not stored yet creates that message as type "unknown" with the new
// text; when the message itself arrives it fills in type and time and keeps the edited text.
func (db *DB) ApplyEdits(ctx context.Context, phoneNumberID string, edits []coex.Edit) (ApplyResult, error) {
	if len(edits) == 0 {
		return ApplyResult{}, nil
	}
	if phoneNumberID == "" {
		return ApplyResult{}, errors.New("apply edits: no phone_number_id")
	}
	rows := make([]msgRow, 0, len(edits))
	events := make([]models.MessageEvent, 0, len(edits))
	for _, e := range edits {
		if e.OriginalWAMID == "" {
			continue
		}
		rows = append(rows, stubRow(e.OriginalWAMID, e.ContactWAID, e.Timestamp, e.Raw, e.NewText, true, false))
		events = append(events, echoEvent(phoneNumberID, e.OriginalWAMID, echoEventEdited, e.WAMID, e.Timestamp))
	}
	threads, err := db.threadsFor(ctx, phoneNumberID, rows, nil)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply edits of %s: %w", phoneNumberID, err)
	}
	var res ApplyResult
	err = db.applyTx(ctx, func(tx *DB) error {
		if err := tx.insertEvents(ctx, events); err != nil {
			return err
		}
		latest, err := tx.latestEdits(ctx, phoneNumberID, rows)
		if err != nil {
			return err
		}
		res, err = tx.mergeMessages(ctx, phoneNumberID, rows, threads, func(cur *msgRow, in msgRow) (msgRow, bool) {
			if cur == nil {
				return in, true
			}
			out := *cur
			if in.TS >= latest[in.WAMID] {
				out.Text, out.Edited = in.Text, true
			}
			return out, true
		})
		return err
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply edits of %s: %w", phoneNumberID, err)
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

// ApplyRevokes marks messages the business deleted in the app as deleted (their text is
// kept for the record). A revoke of a message not stored yet creates it as type "unknown",
// deleted; the message's own delivery later fills it in and it stays deleted.
func (db *DB) ApplyRevokes(ctx context.Context, phoneNumberID string, revokes []coex.Revoke) (ApplyResult, error) {
	if len(revokes) == 0 {
		return ApplyResult{}, nil
	}
	if phoneNumberID == "" {
		return ApplyResult{}, errors.New("apply revokes: no phone_number_id")
	}
	rows := make([]msgRow, 0, len(revokes))
	events := make([]models.MessageEvent, 0, len(revokes))
	for _, r := range revokes {
		if r.OriginalWAMID == "" {
			continue
		}
		rows = append(rows, stubRow(r.OriginalWAMID, r.ContactWAID, r.Timestamp, r.Raw, "", false, true))
		events = append(events, echoEvent(phoneNumberID, r.OriginalWAMID, echoEventRevoked, r.WAMID, r.Timestamp))
	}
	threads, err := db.threadsFor(ctx, phoneNumberID, rows, nil)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply revokes of %s: %w", phoneNumberID, err)
	}
	var res ApplyResult
	err = db.applyTx(ctx, func(tx *DB) error {
		if err := tx.insertEvents(ctx, events); err != nil {
			return err
		}
		var err error
		res, err = tx.mergeMessages(ctx, phoneNumberID, rows, threads, func(cur *msgRow, in msgRow) (msgRow, bool) {
			if cur == nil {
				return in, true
			}
			out := *cur
			out.Deleted = true
			return out, true
		})
		return err
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply revokes of %s: %w", phoneNumberID, err)
	}
	return res, nil
}

// ApplyStatuses applies live status webhooks: each is kept as a message event (source
// "webhook", key "<status>:<timestamp>", deduplicated) and merged into the message's status
// monotonically (a late "delivered" never lowers "read"; error is final). A status of a
// message not stored yet is only kept as an event; the message takes it when it arrives.
func (db *DB) ApplyStatuses(ctx context.Context, phoneNumberID string, statuses []coex.StatusUpdate) (ApplyResult, error) {
	if len(statuses) == 0 {
		return ApplyResult{}, nil
	}
	if phoneNumberID == "" {
		return ApplyResult{}, errors.New("apply statuses: no phone_number_id")
	}
	rows := make([]msgRow, 0, len(statuses))
	events := make([]models.MessageEvent, 0, len(statuses))
	for _, s := range statuses {
		if s.WAMID == "" || s.Status == "" {
			continue
		}
		rows = append(rows, msgRow{WAMID: s.WAMID, Status: coex.NormalizeStatus(s.Status)})
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
	var res ApplyResult
	err := db.applyTx(ctx, func(tx *DB) error {
		if err := tx.insertEvents(ctx, events); err != nil {
			return err
		}
		var err error
		// Status rows carry no contact: they create no thread, they only update stored messages.
		res, err = tx.mergeMessages(ctx, phoneNumberID, rows, nil, func(cur *msgRow, in msgRow) (msgRow, bool) {
			if cur == nil {
				return in, false
			}
			out := *cur
			out.Status = coex.MergeStatus(cur.Status, in.Status)
			return out, true
		})
		return err
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply statuses of %s: %w", phoneNumberID, err)
	}
	return res, nil
}

// ApplyContacts applies address-book changes (add, edit, remove): the latest change of a
// contact (by its timestamp) wins in any order, and the threads with those contacts take
// the contact's name (full name, else first name; none once removed).
func (db *DB) ApplyContacts(ctx context.Context, phoneNumberID string, changes []coex.ContactChange) error {
	if len(changes) == 0 {
		return nil
	}
	if phoneNumberID == "" {
		return errors.New("apply contacts: no phone_number_id")
	}
	latest := map[string]coex.ContactChange{}
	for _, c := range changes {
		c.WAID = clipString(c.WAID, 32)
		if c.WAID == "" {
			continue
		}
		if prev, ok := latest[c.WAID]; !ok || c.Timestamp >= prev.Timestamp {
			latest[c.WAID] = c
		}
	}
	waids := make([]string, 0, len(latest))
	for w := range latest {
		waids = append(waids, w)
	}
	slices.Sort(waids)
	err := db.applyTx(ctx, func(tx *DB) error {
		batch := tx.rowsPerStatement(6)
		for start := 0; start < len(waids); start += batch {
			part := waids[start:min(start+batch, len(waids))]
			if err := tx.upsertContacts(ctx, phoneNumberID, part, latest); err != nil {
				return err
			}
			if err := tx.nameThreadsFromContacts(ctx, phoneNumberID, part); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply contacts of %s: %w", phoneNumberID, err)
	}
	return nil
}

func (db *DB) upsertContacts(ctx context.Context, pnid string, waids []string, latest map[string]coex.ContactChange) error {
	var b strings.Builder
	b.WriteString("INSERT INTO contacts (phone_number_id, wa_id, full_name, first_name, removed, changed_at) VALUES ")
	args := make([]any, 0, len(waids)*6)
	for i, w := range waids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
		c := latest[w]
		args = append(args, pnid, w, clipString(c.FullName, 255), clipString(c.FirstName, 255), c.Removed, c.Timestamp)
	}
	if db.dialect == MySQL {
		b.WriteString(` ON DUPLICATE KEY UPDATE
  full_name = IF(VALUES(changed_at) >= changed_at, VALUES(full_name), full_name),
  first_name = IF(VALUES(changed_at) >= changed_at, VALUES(first_name), first_name),
  removed = IF(VALUES(changed_at) >= changed_at, VALUES(removed), removed),
  changed_at = GREATEST(changed_at, VALUES(changed_at))`)
	} else {
		b.WriteString(` ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET
  full_name = CASE WHEN excluded.changed_at >= contacts.changed_at THEN excluded.full_name ELSE contacts.full_name END,
  first_name = CASE WHEN excluded.changed_at >= contacts.changed_at THEN excluded.first_name ELSE contacts.first_name END,
  removed = CASE WHEN excluded.changed_at >= contacts.changed_at THEN excluded.removed ELSE contacts.removed END,
  changed_at = MAX(contacts.changed_at, excluded.changed_at)`)
	}
	if _, err := db.rawExec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("upsert contacts: %w", err)
	}
	return nil
}

// nameThreadsFromContacts sets the contact_name of the number's threads with these
// contacts from the contacts table.
func (db *DB) nameThreadsFromContacts(ctx context.Context, pnid string, waids []string) error {
	q := `UPDATE threads SET contact_name = COALESCE((SELECT CASE WHEN c.removed THEN '' WHEN c.full_name <> '' THEN c.full_name ELSE c.first_name END
  FROM contacts c WHERE c.phone_number_id = threads.phone_number_id AND c.wa_id = threads.contact_wa_id), contact_name)
  WHERE phone_number_id = ? AND contact_wa_id IN (` + sqlPlaceholders(len(waids)) + ")"
	if _, err := db.rawExec(ctx, q, append([]any{pnid}, sqlStringArgs(waids)...)...); err != nil {
		return fmt.Errorf("name threads: %w", err)
	}
	return nil
}

// AccountInput is an account_update change and the ids it came with.
type AccountInput struct {
	PhoneNumberID      string // value.metadata.phone_number_id, when sent
	DisplayPhoneNumber string // when sent
	WABAID             string // entry[].id
	Event              coex.AccountEvent
}

// AccountStateOf maps an account_update event to a number's account state ("" for events
// that do not change it).
func AccountStateOf(event string) string {
	switch strings.ToUpper(strings.TrimSpace(event)) {
	case coex.EventPartnerRemoved:
		return models.AccountRemoved
	case coex.EventAccountOffboarded:
		return models.AccountOffboarded
	case coex.EventAccountReconnected:
		return models.AccountReconnected
	}
	return ""
}

// ApplyAccountEvent sets the account state of the registered numbers the event is about:
// by phone_number_id when sent, else by display number, else every number of the WABA.
// It returns how many numbers matched; events without a state change match none.
func (db *DB) ApplyAccountEvent(ctx context.Context, in AccountInput) (int, error) {
	state := AccountStateOf(in.Event.Event)
	if state == "" {
		return 0, nil
	}
	q := db.q(ctx).Model(&models.BusinessNumber{})
	waba := in.Event.WABAID
	if waba == "" {
		waba = in.WABAID
	}
	switch {
	case in.PhoneNumberID != "":
		q = q.Where("phone_number_id = ?", in.PhoneNumberID)
	case coex.Digits(in.DisplayPhoneNumber) != "":
		q = q.Where("display_phone_number = ?", coex.Digits(in.DisplayPhoneNumber))
	case waba != "":
		q = q.Where("waba_id = ?", waba)
	default:
		return 0, errors.New("apply account event: no phone number or WABA id")
	}
	res := q.Updates(map[string]any{"account_state": state, "updated_at": db.now()})
	if res.Error != nil {
		return 0, fmt.Errorf("apply account event %s: %w", in.Event.Event, translate(res.Error))
	}
	return int(res.RowsAffected), nil
}

// ---- message merge ----

// msgRow is a message as the merge sees it; ID is 0 for a row not stored yet.
type msgRow struct {
	ID          uint64
	WAMID       string
	ThreadID    uint64
	ContactWAID string
	Direction   string
	Type        string
	Text        string
	TS          int64
	Status      string
	Origin      string
	Edited      bool
	Deleted     bool
	MediaID     string
	MimeType    string
	ReactionTo  string
	Phase       int
	ChunkOrder  int
	Position    int
	Raw         string
}

func rowFromMessage(m coex.Message, phase, chunkOrder int) msgRow {
	return msgRow{
		WAMID:       clipString(m.WAMID, 191),
		ContactWAID: clipString(m.ContactWAID, 32),
		Direction:   clipString(m.Direction, 8),
		Type:        clipString(m.Type, 32),
		Text:        m.Text,
		TS:          m.Timestamp,
		Status:      clipString(coex.NormalizeStatus(m.Status), 16),
		Origin:      clipString(m.Origin, 8),
		MediaID:     clipString(m.MediaID, 64),
		MimeType:    clipString(m.MimeType, 128),
		ReactionTo:  clipString(m.ReactionTo, 191),
		Phase:       phase,
		ChunkOrder:  chunkOrder,
		Position:    m.Position,
		Raw:         string(m.Raw),
	}
}

// stubRow is an outbound message known only from an edit or revoke echo.
func stubRow(wamid, contact string, ts int64, raw []byte, text string, edited, deleted bool) msgRow {
	return msgRow{
		WAMID:       clipString(wamid, 191),
		ContactWAID: clipString(contact, 32),
		Direction:   models.DirectionOutbound,
		Type:        TypeUnknown,
		Text:        text,
		TS:          ts,
		Origin:      models.OriginEcho,
		Edited:      edited,
		Deleted:     deleted,
		Phase:       noChunk,
		ChunkOrder:  noChunk,
		Raw:         string(raw),
	}
}

// merger combines the stored (or earlier in the batch) version of a message, nil when there
// is none, with an incoming one. keep=false leaves the message unwritten.
type merger func(cur *msgRow, in msgRow) (out msgRow, keep bool)

// mergeRow is the order-independent merge of two deliveries of one message:
//   - placement (time, direction, thread, origin, phase, chunk order, position): a history
//     chunk beats any other source; between chunks the smallest (phase, chunk_order,
//     position) wins; between other sources the earliest time wins and the rest stays;
//   - content (type, text, media id, mime type, reaction, raw JSON): a real type beats a
//     placeholder or an unknown stub, then a chunk beats other sources, then the smallest
//     chunk position; the text of an edited message is kept;
//   - status merges monotonically (coex.MergeStatus); edited and deleted stay set.
func mergeRow(cur *msgRow, in msgRow) (msgRow, bool) {
	if cur == nil {
		return in, true
	}
	out := *cur
	inChunk, curChunk := in.Phase >= 0, cur.Phase >= 0
	switch {
	case inChunk && (!curChunk || chunkBefore(&in, cur)):
		out.TS, out.Origin = in.TS, in.Origin
		out.Phase, out.ChunkOrder, out.Position = in.Phase, in.ChunkOrder, in.Position
		if in.Direction != "" {
			out.Direction = in.Direction
		}
		if in.ContactWAID != "" {
			out.ContactWAID, out.ThreadID = in.ContactWAID, 0
		}
	case !inChunk && !curChunk:
		if in.TS > 0 && (out.TS == 0 || in.TS < out.TS) {
			out.TS = in.TS
		}
	}
	if out.ContactWAID == "" && in.ContactWAID != "" {
		out.ContactWAID, out.ThreadID = in.ContactWAID, 0
	}
	if out.Direction == "" {
		out.Direction = in.Direction
	}
	if out.Origin == "" {
		out.Origin = in.Origin
	}
	if contentBefore(&in, cur) {
		out.Type, out.MediaID, out.MimeType, out.ReactionTo, out.Raw = in.Type, in.MediaID, in.MimeType, in.ReactionTo, in.Raw
		if !cur.Edited {
			out.Text = in.Text
		}
	}
	out.Status = coex.MergeStatus(cur.Status, in.Status)
	out.Edited = cur.Edited || in.Edited
	out.Deleted = cur.Deleted || in.Deleted
	return out, true
}

// chunkBefore orders two chunk deliveries of a message by (phase, chunk_order, position).
func chunkBefore(a, b *msgRow) bool {
	if a.Phase != b.Phase {
		return a.Phase < b.Phase
	}
	if a.ChunkOrder != b.ChunkOrder {
		return a.ChunkOrder < b.ChunkOrder
	}
	return a.Position < b.Position
}

// contentBefore reports whether a's content is preferred over b's.
func contentBefore(a, b *msgRow) bool {
	ra, rb := contentRank(a), contentRank(b)
	if ra != rb {
		return ra > rb
	}
	return a.Phase >= 0 && b.Phase >= 0 && chunkBefore(a, b)
}

func contentRank(r *msgRow) int {
	rank := 0
	switch r.Type {
	case "", TypeUnknown, coex.TypeMediaPlaceholder:
	default:
		rank = 2
	}
	if r.Phase >= 0 {
		rank++
	}
	return rank
}

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

// errConcurrentInsert says that a message this transaction believed new was stored meanwhile
// by another one: the transaction is rolled back and run again (see mergeMessages).
var errConcurrentInsert = errors.New("a message was stored by a concurrent transaction")

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

	// Thread counters: inserted messages are added to their thread; a message that moved
	// to another thread or time has its threads recounted from the messages table.
	added := map[string]*threadDelta{}
	recount := map[uint64]bool{}
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
			if old.ThreadID != r.ThreadID || old.TS != r.TS {
				recount[old.ThreadID] = true
				recount[r.ThreadID] = true
			}
		default:
			res.Inserted++
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
	for c, d := range added {
		if recount[d.threadID] {
			delete(added, c)
		}
	}
	delete(recount, 0)
	if db.dialect == MySQL && (len(added) > 0 || len(recount) > 0) {
		ids := make([]uint64, 0, len(added)+len(recount))
		for id := range recount {
			ids = append(ids, id)
		}
		for _, d := range added {
			ids = append(ids, d.threadID)
		}
		if err := db.lockThreads(ctx, ids); err != nil {
			return res, err
		}
	}
	if err := db.addToThreads(ctx, pnid, added); err != nil {
		return res, err
	}
	if err := db.recountThreads(ctx, recount); err != nil {
		return res, err
	}
	return res, nil
}

// threadDelta is what inserted messages add to a thread.
type threadDelta struct {
	threadID    uint64
	n           int
	first, last int64
}

func (d *threadDelta) add(threadID uint64, ts int64) *threadDelta {
	if d == nil {
		return &threadDelta{threadID: threadID, n: 1, first: ts, last: ts}
	}
	d.n++
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
		// Assignments read the columns assigned after them: message_count goes last.
		suffix = ` ON DUPLICATE KEY UPDATE
  first_message_at = IF(message_count = 0, VALUES(first_message_at), LEAST(first_message_at, VALUES(first_message_at))),
  last_message_at = IF(message_count = 0, VALUES(last_message_at), GREATEST(last_message_at, VALUES(last_message_at))),
  message_count = message_count + VALUES(message_count)`
	} else {
		suffix = ` ON CONFLICT (phone_number_id, contact_wa_id) DO UPDATE SET
  first_message_at = CASE WHEN threads.message_count = 0 THEN excluded.first_message_at ELSE MIN(threads.first_message_at, excluded.first_message_at) END,
  last_message_at = CASE WHEN threads.message_count = 0 THEN excluded.last_message_at ELSE MAX(threads.last_message_at, excluded.last_message_at) END,
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
			args = append(args, pnid, c, clipString(names[c], 255))
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

// lockThreads locks thread rows (MySQL) in id order.
func (db *DB) lockThreads(ctx context.Context, ids []uint64) error {
	slices.Sort(ids)
	q := "SELECT id FROM threads WHERE id IN (" + sqlPlaceholders(len(ids)) + ") ORDER BY id FOR UPDATE"
	if err := db.rawQuery(ctx, q, sqlUint64Args(ids), func(r *sql.Rows) error { var id uint64; return r.Scan(&id) }); err != nil {
		return fmt.Errorf("lock threads: %w", err)
	}
	return nil
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

const ingestMessageColumns = "phone_number_id, wamid, thread_id, contact_wa_id, direction, type, text, ts, status, origin, " +
	"edited, deleted, media_id, mime_type, reaction_to, phase, chunk_order, position, raw, created_at, updated_at"

// ingestMessageUpdated are the columns an upsert of a stored message overwrites (with the merged
// values computed under the thread locks).
var ingestMessageUpdated = []string{"thread_id", "contact_wa_id", "direction", "type", "text", "ts", "status", "origin",
	"edited", "deleted", "media_id", "mime_type", "reaction_to", "phase", "chunk_order", "position", "raw", "updated_at"}

// upsertMessages writes merged rows with multi-row upserts keyed by (phone_number_id, wamid).
func (db *DB) upsertMessages(ctx context.Context, pnid string, rows []*msgRow) (affected int64, err error) {
	if len(rows) == 0 {
		return 0, nil
	}
	const cols = 21
	tuple := "(" + sqlPlaceholders(cols) + ")"
	var suffix strings.Builder
	if db.dialect == MySQL {
		suffix.WriteString(" ON DUPLICATE KEY UPDATE ")
		for i, c := range ingestMessageUpdated {
			if i > 0 {
				suffix.WriteString(", ")
			}
			suffix.WriteString(c + " = VALUES(" + c + ")")
		}
	} else {
		suffix.WriteString(" ON CONFLICT (phone_number_id, wamid) DO UPDATE SET ")
		for i, c := range ingestMessageUpdated {
			if i > 0 {
				suffix.WriteString(", ")
			}
			suffix.WriteString(c + " = excluded." + c)
		}
	}
	statement := func(n int) string {
		var b strings.Builder
		b.Grow(60 + len(ingestMessageColumns) + n*(len(tuple)+2) + suffix.Len())
		b.WriteString("INSERT INTO messages (" + ingestMessageColumns + ") VALUES ")
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
		}
		b.WriteString(suffix.String())
		return b.String()
	}
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
		if start > 0 && db.yield != nil && db.dialect == MySQL {
			db.yield(ctx)
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

// recountThreads sets message_count, first_message_at and last_message_at of threads from
// their messages, in one statement per batch.
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
			q = "UPDATE threads t LEFT JOIN (SELECT thread_id, COUNT(*) AS n, MIN(ts) AS first_ts, MAX(ts) AS last_ts FROM messages WHERE thread_id IN (" + in +
				") GROUP BY thread_id) m ON m.thread_id = t.id SET t.message_count = COALESCE(m.n, 0), t.first_message_at = COALESCE(m.first_ts, 0), t.last_message_at = COALESCE(m.last_ts, 0) WHERE t.id IN (" + in + ")"
			args = append(sqlUint64Args(part), sqlUint64Args(part)...)
		} else {
			q = "UPDATE threads SET message_count = (SELECT COUNT(*) FROM messages WHERE thread_id = threads.id), " +
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

func echoEvent(pnid, wamid, status, echoWAMID string, ts int64) models.MessageEvent {
	key := status + ":" + echoWAMID
	if echoWAMID == "" {
		key = status + ":" + strconv.FormatInt(ts, 10)
	}
	return models.MessageEvent{
		PhoneNumberID:  pnid,
		WAMID:          wamid,
		Source:         EventSourceEcho,
		EventKey:       clipString(key, 128),
		DeliveryStatus: status,
		OccurrenceTS:   ts,
	}
}

// insertEvents stores events once each (a repeated key is left as stored).
func (db *DB) insertEvents(ctx context.Context, events []models.MessageEvent) error {
	now := db.now()
	batch := db.rowsPerStatement(8)
	for start := 0; start < len(events); start += batch {
		part := events[start:min(start+batch, len(events))]
		var b strings.Builder
		b.WriteString("INSERT INTO message_events (phone_number_id, wamid, source, event_key, delivery_status, occurrence_ts, status_ts, " +
			"application_id, application_name, error_description, webhook_update_state, webhook_uri, created_at) VALUES ")
		args := make([]any, 0, len(part)*9)
		for i, e := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, 0, '', '', ?, '', '', ?)")
			args = append(args, e.PhoneNumberID, clipString(e.WAMID, 191), e.Source, clipString(e.EventKey, 128),
				clipString(e.DeliveryStatus, 32), e.OccurrenceTS, clipString(e.ErrorDescription, 1000), now)
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

// ---- reading the sync ----

// SyncSummary is the state of a number's history sync, for the API and the progress view.
// Times are Unix seconds, 0 when unknown.
type SyncSummary struct {
	PhoneNumberID string         `json:"phone_number_id"`
	State         string         `json:"state"`
	Progress      int            `json:"progress"`
	Phases        []PhaseSummary `json:"phases"`
	ChunkGaps     []ChunkGap     `json:"chunk_gaps"`
	MessagesTotal int64          `json:"messages_total"`
	ThreadsTotal  int64          `json:"threads_total"`
	ErrorCode     int            `json:"error_code,omitempty"`
	ErrorMessage  string         `json:"error_message,omitempty"`
	FirstChunkAt  int64          `json:"first_chunk_at,omitempty"`
	LastChunkAt   int64          `json:"last_chunk_at,omitempty"`
	CompletedAt   int64          `json:"completed_at,omitempty"`
}

// PhaseSummary is what arrived of one phase (0 = day 0–1, 1 = day 1–90, 2 = day 90–180).
type PhaseSummary struct {
	Phase       int   `json:"phase"`
	Chunks      int   `json:"chunks"`
	Messages    int   `json:"messages"` // as delivered in the chunks
	LastChunkAt int64 `json:"last_chunk_at"`
}

// ChunkGap lists the chunk orders of a phase missing between the lowest and highest seen
// (at most maxGapList).
type ChunkGap struct {
	Phase   int   `json:"phase"`
	Missing []int `json:"missing"`
}

const maxGapList = 1000

// SyncSummary summarises a number's history sync. A number without a sync run is
// "not_requested" (with whatever chunks and messages are stored).
func (db *DB) SyncSummary(ctx context.Context, phoneNumberID string) (SyncSummary, error) {
	s := SyncSummary{PhoneNumberID: phoneNumberID, State: models.SyncNotRequested, Phases: []PhaseSummary{}, ChunkGaps: []ChunkGap{}}
	var runs []models.SyncRun
	if err := db.q(ctx).Where("phone_number_id = ?", phoneNumberID).Limit(1).Find(&runs).Error; err != nil {
		return s, fmt.Errorf("sync summary: %w", translate(err))
	}
	if len(runs) == 1 {
		r := runs[0]
		s.State, s.Progress, s.ErrorCode, s.ErrorMessage = r.State, r.Progress, r.ErrorCode, r.ErrorMessage
		s.FirstChunkAt, s.LastChunkAt, s.CompletedAt = unixOrZero(r.FirstChunkAt), unixOrZero(r.LastChunkAt), unixOrZero(r.CompletedAt)
	}
	var chunks []struct {
		Phase        int       `gorm:"column:phase"`
		ChunkOrder   int       `gorm:"column:chunk_order"`
		MessageCount int       `gorm:"column:message_count"`
		ReceivedAt   time.Time `gorm:"column:received_at"`
	}
	err := db.q(ctx).Table("history_chunks").Select("phase, chunk_order, message_count, received_at").
		Where("phone_number_id = ?", phoneNumberID).Order("phase, chunk_order").Scan(&chunks).Error
	if err != nil {
		return s, fmt.Errorf("sync summary: chunks: %w", translate(err))
	}
	for i := 0; i < len(chunks); {
		j := i
		p := PhaseSummary{Phase: chunks[i].Phase}
		var missing []int
		for ; j < len(chunks) && chunks[j].Phase == p.Phase; j++ {
			c := chunks[j]
			p.Chunks++
			p.Messages += c.MessageCount
			if t := c.ReceivedAt.Unix(); t > p.LastChunkAt {
				p.LastChunkAt = t
			}
			if j > i {
				for n := chunks[j-1].ChunkOrder + 1; n < c.ChunkOrder && len(missing) < maxGapList; n++ {
					missing = append(missing, n)
				}
			}
		}
		s.Phases = append(s.Phases, p)
		if len(missing) > 0 {
			s.ChunkGaps = append(s.ChunkGaps, ChunkGap{Phase: p.Phase, Missing: missing})
		}
		i = j
	}
	if s.ThreadsTotal, s.MessagesTotal, err = db.CountThreadsAndMessages(ctx, phoneNumberID); err != nil {
		return s, fmt.Errorf("sync summary: totals: %w", err)
	}
	return s, nil
}

func unixOrZero(t *time.Time) int64 {
	if t == nil || t.IsZero() {
		return 0
	}
	return t.Unix()
}

// ListChunks lists a number's chunk ledger, latest received first.
func (db *DB) ListChunks(ctx context.Context, phoneNumberID string, limit int) ([]models.HistoryChunk, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []models.HistoryChunk
	err := db.q(ctx).Where("phone_number_id = ?", phoneNumberID).Order("id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list chunks: %w", translate(err))
	}
	return out, nil
}

// ---- plumbing ----

// applyTx runs fn in one transaction for applying webhooks: READ COMMITTED on MySQL, so
// reads after a lock see the latest committed rows; retried on deadlocks and lock waits.
func (db *DB) applyTx(ctx context.Context, fn func(tx *DB) error) error {
	var opts []*sql.TxOptions
	if db.dialect == MySQL {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	}
	const attempts = 6
	var err error
	for attempt := range attempts {
		err = db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
			return fn(&DB{gorm: g, dialect: db.dialect, now: db.now, yield: db.yield})
		}, opts...)
		if err == nil || !retryableTx(err) || attempt == attempts-1 {
			break
		}
		wait := time.Duration(5<<attempt)*time.Millisecond + time.Duration(rand.Int64N(int64(5*time.Millisecond)))
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
	return translate(err)
}

// retryableTx reports whether a transaction failed only because of a concurrent one.
func retryableTx(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205 // deadlock, lock wait timeout
	}
	if errors.Is(err, errConcurrentInsert) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

// rawExec runs a statement on the connection or transaction of db, bypassing GORM's statement
// builder (bulk statements carry tens of thousands of arguments).
func (db *DB) rawExec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := db.gorm.Statement.ConnPool.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// rawQuery runs a query on the connection or transaction of db and calls each for every row.
func (db *DB) rawQuery(ctx context.Context, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := db.gorm.Statement.ConnPool.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func sqlPlaceholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func sqlStringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func sqlUint64Args(ids []uint64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
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
