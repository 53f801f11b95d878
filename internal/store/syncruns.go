package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
		set["error_message"] = clipRunText(*u.ErrorMessage, 1000)
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
	var stale []models.SyncRun
	err := db.q(ctx).Where("state = ? AND requested_at < ?", models.SyncRequested, before.UTC()).
		Order("requested_at").Limit(500).Find(&stale).Error
	if err != nil {
		return nil, fmt.Errorf("find stale sync runs: %w", translate(err))
	}
	var moved []models.SyncRun
	for _, r := range stale {
		res := db.q(ctx).Model(&models.SyncRun{}).
			Where("phone_number_id = ? AND state = ? AND requested_at < ?", r.PhoneNumberID, models.SyncRequested, before.UTC()).
			Updates(map[string]any{"state": models.SyncTimedOut, "updated_at": db.now()})
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

// clipRunText cuts s to at most n bytes without splitting a UTF-8 sequence.
func clipRunText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// SyncedContacts counts the address-book contacts of a number (removed ones excluded).
func (db *DB) SyncedContacts(ctx context.Context, pnid string) (int64, error) {
	var n int64
	err := db.q(ctx).Model(&models.Contact{}).Where("phone_number_id = ? AND removed = ?", pnid, false).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count contacts: %w", translate(err))
	}
	return n, nil
}
