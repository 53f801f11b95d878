package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/syncstate"
	"coexhistory/models"
)

// SyncRun returns the history sync run of a number; ErrNotFound when none was recorded.
func (db *DB) SyncRun(ctx context.Context, pnid string) (models.SyncRun, error) {
	var r models.SyncRun
	err := db.q(ctx).Where("phone_number_id = ?", pnid).Take(&r).Error
	return r, translate(err)
}

// ClaimSyncRun moves the run of pnid to requested at `at`, but only when its state is one of
// from (a number without a run counts as not_requested). It is atomic: of two concurrent
// claims, on one instance or several, exactly one gets true. A claim keeps the request ids
// of an earlier attempt (a step Meta accepted must not be asked again) and clears the rest.
func (db *DB) ClaimSyncRun(ctx context.Context, pnid string, from []string, at time.Time) (bool, error) {
	if slices.Contains(from, models.SyncNotRequested) {
		err := db.q(ctx).Create(&models.SyncRun{PhoneNumberID: pnid, State: models.SyncRequested, RequestedAt: runTime(at.UTC())}).Error
		switch err = translate(err); {
		case err == nil:
			return true, nil
		case !errors.Is(err, ErrDuplicate):
			return false, fmt.Errorf("claim sync run: %w", err)
		}
	}
	res := db.q(ctx).Model(&models.SyncRun{}).
		Where("phone_number_id = ? AND state IN ?", pnid, from).
		Updates(map[string]any{
			"state": models.SyncRequested, "progress": 0, "requested_at": at.UTC(),
			"first_chunk_at": nil, "last_chunk_at": nil, "completed_at": nil,
			"error_code": 0, "error_message": "", "updated_at": db.now(),
		})
	if res.Error != nil {
		return false, fmt.Errorf("claim sync run: %w", translate(res.Error))
	}
	return res.RowsAffected == 1, nil
}

// SyncRunUpdate holds the columns UpdateSyncRun sets; nil fields are left alone.
type SyncRunUpdate struct {
	State             *string
	ContactsRequestID *string
	HistoryRequestID  *string
	ErrorCode         *int
	ErrorMessage      *string
}

// UpdateSyncRun sets u on the run of pnid when its state is one of from (in any state when
// from is empty), and reports whether it did.
func (db *DB) UpdateSyncRun(ctx context.Context, pnid string, from []string, u SyncRunUpdate) (bool, error) {
	set := map[string]any{"updated_at": db.now()}
	if u.State != nil {
		set["state"] = *u.State
	}
	if u.ContactsRequestID != nil {
		set["contacts_request_id"] = *u.ContactsRequestID
	}
	if u.HistoryRequestID != nil {
		set["history_request_id"] = *u.HistoryRequestID
	}
	if u.ErrorCode != nil {
		set["error_code"] = *u.ErrorCode
	}
	if u.ErrorMessage != nil {
		set["error_message"] = clip(*u.ErrorMessage, 1000)
	}
	q := db.q(ctx).Model(&models.SyncRun{}).Where("phone_number_id = ?", pnid)
	if len(from) > 0 {
		q = q.Where("state IN ?", from)
	}
	res := q.Updates(set)
	if res.Error != nil {
		return false, fmt.Errorf("update sync run: %w", translate(res.Error))
	}
	return res.RowsAffected == 1, nil
}

// TimeOutSyncRuns moves every run still waiting for its first webhook (requested) that was
// requested before `before` to timed_out, one conditional update each, and returns the runs
// it moved as they were before. A run that a chunk moved on meanwhile is left alone.
func (db *DB) TimeOutSyncRuns(ctx context.Context, before time.Time) ([]models.SyncRun, error) {
	from := syncstate.Sources(syncstate.EventTimeout)
	var stale []models.SyncRun
	err := db.q(ctx).Where("state IN ? AND requested_at < ?", from, before.UTC()).
		Order("requested_at").Limit(500).Find(&stale).Error
	if err != nil {
		return nil, fmt.Errorf("find stale sync runs: %w", translate(err))
	}
	var moved []models.SyncRun
	for _, r := range stale {
		to, _ := syncstate.Next(r.State, syncstate.EventTimeout)
		res := db.q(ctx).Model(&models.SyncRun{}).
			Where("phone_number_id = ? AND state = ? AND requested_at < ?", r.PhoneNumberID, r.State, before.UTC()).
			Updates(map[string]any{"state": to, "updated_at": db.now()})
		if res.Error != nil {
			return moved, fmt.Errorf("time out sync run %s: %w", r.PhoneNumberID, translate(res.Error))
		}
		if res.RowsAffected == 1 {
			moved = append(moved, r)
		}
	}
	return moved, nil
}

// UnansweredSyncRequests lists the runs claimed for a request before `before` whose history
// request never recorded an answer: the app stopped between the claim and the provider's
// reply.
func (db *DB) UnansweredSyncRequests(ctx context.Context, before time.Time) ([]models.SyncRun, error) {
	var runs []models.SyncRun
	err := db.q(ctx).Where("state = ? AND history_request_id = '' AND requested_at < ?", models.SyncRequested, before.UTC()).
		Order("requested_at").Limit(500).Find(&runs).Error
	if err != nil {
		return nil, fmt.Errorf("find unanswered sync requests: %w", translate(err))
	}
	return runs, nil
}

func runTime(t time.Time) *time.Time { return &t }

// SyncedContacts counts the address-book contacts of a number (removed ones excluded).
func (db *DB) SyncedContacts(ctx context.Context, pnid string) (int64, error) {
	var n int64
	err := db.q(ctx).Model(&models.Contact{}).Where("phone_number_id = ? AND removed = ?", pnid, false).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count contacts: %w", translate(err))
	}
	return n, nil
}

// advanceSyncRun records a new chunk in the number's sync run, as syncstate.Next has it: a
// chunk moves any run but a complete or declined one to receiving (a failed or timed-out
// one too: Meta is sending), progress 100 (the highest seen) completes it. MySQL evaluates
// the assignments left to right on the updated row, so each one reads only columns assigned
// after it.
func (db *DB) advanceSyncRun(ctx context.Context, pnid string, progress int, now time.Time) error {
	ev := syncstate.EventChunk
	var completedAt *time.Time
	if progress >= 100 {
		ev, completedAt = syncstate.EventLastChunk, &now
	}
	state, _ := syncstate.Next(models.SyncNotRequested, ev)
	completes := sqlStateList(statesMovedTo(syncstate.EventLastChunk, models.SyncComplete))
	var q string
	if db.dialect == MySQL {
		q = insertSyncRun + ` ON DUPLICATE KEY UPDATE
  completed_at = CASE WHEN state IN ` + completes + ` AND GREATEST(progress, VALUES(progress)) >= 100 THEN COALESCE(completed_at, VALUES(updated_at)) ELSE completed_at END,
  state = CASE WHEN GREATEST(progress, VALUES(progress)) >= 100 THEN ` + sqlStateAfter("state", syncstate.EventLastChunk) +
			` ELSE ` + sqlStateAfter("state", syncstate.EventChunk) + ` END,
  progress = GREATEST(progress, VALUES(progress)),
  first_chunk_at = COALESCE(first_chunk_at, VALUES(first_chunk_at)),
  last_chunk_at = VALUES(last_chunk_at),
  updated_at = VALUES(updated_at)`
	} else {
		q = insertSyncRun + ` ON CONFLICT (phone_number_id) DO UPDATE SET
  completed_at = CASE WHEN sync_runs.state IN ` + completes + ` AND MAX(sync_runs.progress, excluded.progress) >= 100 THEN COALESCE(sync_runs.completed_at, excluded.updated_at) ELSE sync_runs.completed_at END,
  state = CASE WHEN MAX(sync_runs.progress, excluded.progress) >= 100 THEN ` + sqlStateAfter("sync_runs.state", syncstate.EventLastChunk) +
			` ELSE ` + sqlStateAfter("sync_runs.state", syncstate.EventChunk) + ` END,
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

// sqlStateAfter is a SQL expression for the state after ev of a run whose state is in col,
// written from syncstate.Next (a state where ev does not apply is kept).
func sqlStateAfter(col string, ev syncstate.Event) string {
	var b strings.Builder
	b.WriteString("CASE " + col)
	for _, from := range syncstate.States {
		if to, ok := syncstate.Next(from, ev); ok {
			b.WriteString(" WHEN '" + from + "' THEN '" + to + "'")
		}
	}
	b.WriteString(" ELSE " + col + " END")
	return b.String()
}

// statesMovedTo lists the states that ev moves to the state to (not those already in it).
func statesMovedTo(ev syncstate.Event, to string) []string {
	var out []string
	for _, from := range syncstate.States {
		if next, ok := syncstate.Next(from, ev); ok && next == to && from != to {
			out = append(out, from)
		}
	}
	return out
}

// sqlStateList is a SQL list of states, e.g. ('requested', 'receiving').
func sqlStateList(states []string) string {
	return "('" + strings.Join(states, "', '") + "')"
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
	msg := clip(historyErrorText(he), 1000)
	ev := syncstate.EventHistoryError
	if he.Declined() {
		ev = syncstate.EventDeclined
	}
	state, _ := syncstate.Next(models.SyncNotRequested, ev)
	var q string
	if db.dialect == MySQL {
		q = insertSyncRun + ` ON DUPLICATE KEY UPDATE
  error_code = CASE WHEN state = '` + models.SyncDeclined + `' THEN error_code ELSE VALUES(error_code) END,
  error_message = CASE WHEN state = '` + models.SyncDeclined + `' THEN error_message ELSE VALUES(error_message) END,
  state = ` + sqlStateAfter("state", ev) + `,
  updated_at = VALUES(updated_at)`
	} else {
		q = insertSyncRun + ` ON CONFLICT (phone_number_id) DO UPDATE SET
  error_code = CASE WHEN sync_runs.state = '` + models.SyncDeclined + `' THEN sync_runs.error_code ELSE excluded.error_code END,
  error_message = CASE WHEN sync_runs.state = '` + models.SyncDeclined + `' THEN sync_runs.error_message ELSE excluded.error_message END,
  state = ` + sqlStateAfter("sync_runs.state", ev) + `,
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
