package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"coexhistory/models"
)

// Media kinds that carry a media id (the message types of the messages webhook).
var mediaKinds = map[string]bool{"image": true, "audio": true, "video": true, "document": true, "sticker": true}

// mediaJobColumns are the columns of an inserted job, in order.
const mediaJobColumns = "phone_number_id, media_id, wamid, kind, mime_type, expected_sha256, filename, state, attempts, " +
	"next_attempt_ms, lease_owner, lease_until_ms, error, sha256, size, stored_mime_type, created_at, updated_at"

// enqueueMediaJobs creates the download job of every written message that carries a media
// id, in the caller's transaction, at most one per (number, media id): a replayed webhook,
// an edit that keeps the media or a second message with the same id creates nothing new.
func (db *DB) enqueueMediaJobs(ctx context.Context, pnid string, rows []*msgRow) error {
	seen := map[string]bool{}
	var args []any
	n := 0
	now := db.now()
	for _, r := range rows {
		if r.MediaID == "" || seen[r.MediaID] || r.Deleted {
			continue
		}
		seen[r.MediaID] = true
		info := mediaInfoFromRaw(r.Type, r.Raw)
		kind := r.Type
		if !mediaKinds[kind] {
			kind = info.kind
		}
		args = append(args, pnid, r.MediaID, r.WAMID, clip(kind, 32), clip(r.MimeType, 128),
			clip(info.SHA256, 64), clip(info.Filename, 255), models.MediaPending, 0,
			int64(0), "", int64(0), "", "", int64(0), "", now, now)
		n++
	}
	if n == 0 {
		return nil
	}
	const cols = 18
	per := max(1, db.rowsPerStatement(cols))
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		values := strings.TrimSuffix(strings.Repeat("("+sqlPlaceholders(cols)+"),", end-start), ",")
		q := "INSERT INTO media_jobs (" + mediaJobColumns + ") VALUES " + values
		if db.dialect == MySQL {
			q += " ON DUPLICATE KEY UPDATE id = id"
		} else {
			q += " ON CONFLICT (phone_number_id, media_id) DO NOTHING"
		}
		if _, err := db.rawExec(ctx, q, args[start*cols:end*cols]...); err != nil {
			return fmt.Errorf("enqueue media jobs: %w", err)
		}
	}
	return nil
}

// mediaInfo is what the stored message JSON says of its media beyond id and mime type.
type mediaInfo struct {
	kind     string
	SHA256   string `json:"sha256"`
	Filename string `json:"filename"`
}

// mediaInfoFromRaw reads sha256 and filename from the message object {type, <type>: {...}}.
func mediaInfoFromRaw(typ, raw string) mediaInfo {
	var info mediaInfo
	if raw == "" {
		return info
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &m) != nil {
		return info
	}
	try := []string{typ}
	if !mediaKinds[typ] {
		try = []string{"image", "audio", "video", "document", "sticker"}
	}
	for _, k := range try {
		if obj, ok := m[k]; ok && json.Unmarshal(obj, &info) == nil {
			info.kind = k
			return info
		}
	}
	return info
}

// ClaimMediaJobs leases up to limit jobs to owner: pending jobs whose next attempt is due,
// and processing jobs whose lease expired (a crashed or stuck worker), oldest first. Safe
// with several workers and instances, like ClaimInbox; attempts are counted here.
func (db *DB) ClaimMediaJobs(ctx context.Context, owner string, lease time.Duration, limit int) ([]models.MediaJob, error) {
	if owner == "" {
		return nil, errors.New("claim media jobs: empty owner")
	}
	limit = max(limit, 1)
	nowMs := db.now().UnixMilli()
	until := nowMs + lease.Milliseconds()
	const where = "((state = ? AND next_attempt_ms <= ?) OR (state = ? AND lease_until_ms < ?))"
	whereArgs := []any{models.MediaPending, nowMs, models.MediaProcessing, nowMs}
	var ids []uint64
	var err error
	if db.dialect == MySQL {
		err = db.retry.do(ctx, "claim media jobs", nil, func() error { // retried as a whole, like ClaimInbox
			ids = nil
			return db.q(ctx).Transaction(func(tx *gorm.DB) error {
				err := tx.Raw("SELECT id FROM media_jobs WHERE "+where+" ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
					append(whereArgs, limit)...).Scan(&ids).Error
				if err != nil || len(ids) == 0 {
					return err
				}
				return tx.Exec("UPDATE media_jobs SET state = ?, lease_owner = ?, lease_until_ms = ?, attempts = attempts + 1 WHERE id IN ?",
					models.MediaProcessing, owner, until, ids).Error
			}, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		})
	} else {
		args := append([]any{models.MediaProcessing, owner, until}, whereArgs...)
		err = db.q(ctx).Raw("UPDATE media_jobs SET state = ?, lease_owner = ?, lease_until_ms = ?, attempts = attempts + 1 "+
			"WHERE id IN (SELECT id FROM media_jobs WHERE "+where+" ORDER BY id LIMIT ?) RETURNING id", append(args, limit)...).Scan(&ids).Error
	}
	if err != nil {
		return nil, fmt.Errorf("claim media jobs: %w", translate(err))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var jobs []models.MediaJob
	if err := db.q(ctx).Where("id IN ? AND lease_owner = ? AND state = ?", ids, owner, models.MediaProcessing).
		Order("id").Find(&jobs).Error; err != nil {
		return nil, fmt.Errorf("claim media jobs: read claimed rows: %w", translate(err))
	}
	return jobs, nil
}

// ExtendMediaLease keeps a long download leased to owner; ErrLeaseLost when it is not.
func (db *DB) ExtendMediaLease(ctx context.Context, id uint64, owner string, lease time.Duration) error {
	res := db.q(ctx).Model(&models.MediaJob{}).
		Where("id = ? AND state = ? AND lease_owner = ?", id, models.MediaProcessing, owner).
		Update("lease_until_ms", db.now().UnixMilli()+lease.Milliseconds())
	return leaseResult("extend media lease", res)
}

// CompleteMediaJob records the stored file of a leased job: its SHA-256 (the storage key),
// size and mime type.
func (db *DB) CompleteMediaJob(ctx context.Context, id uint64, owner, sha256 string, size int64, mimeType string) error {
	now := db.now()
	res := db.q(ctx).Model(&models.MediaJob{}).
		Where("id = ? AND state = ? AND lease_owner = ?", id, models.MediaProcessing, owner).
		Updates(map[string]any{
			"state": models.MediaDone, "sha256": sha256, "size": size, "stored_mime_type": clip(mimeType, 128),
			"error": "", "lease_owner": "", "lease_until_ms": 0, "updated_at": now, "done_at": now,
		})
	return leaseResult("complete media job", res)
}

// RetryMediaJob gives a leased job back after a transient error: pending again, due at next.
func (db *DB) RetryMediaJob(ctx context.Context, id uint64, owner, errText string, next time.Time) error {
	res := db.q(ctx).Model(&models.MediaJob{}).
		Where("id = ? AND state = ? AND lease_owner = ?", id, models.MediaProcessing, owner).
		Updates(map[string]any{
			"state": models.MediaPending, "next_attempt_ms": next.UnixMilli(), "error": clip(errText, maxInboxError),
			"lease_owner": "", "lease_until_ms": 0, "updated_at": db.now(),
		})
	return leaseResult("retry media job", res)
}

// EndMediaJob ends a leased job for good: models.MediaExpired or models.MediaFailed, with
// the reason.
func (db *DB) EndMediaJob(ctx context.Context, id uint64, owner, state, reason string) error {
	if state != models.MediaExpired && state != models.MediaFailed {
		return fmt.Errorf("end media job: state %q is not final", state)
	}
	now := db.now()
	res := db.q(ctx).Model(&models.MediaJob{}).
		Where("id = ? AND state = ? AND lease_owner = ?", id, models.MediaProcessing, owner).
		Updates(map[string]any{
			"state": state, "error": clip(reason, maxInboxError), "lease_owner": "", "lease_until_ms": 0,
			"updated_at": now, "done_at": now,
		})
	return leaseResult("end media job", res)
}

// RequeueMediaJob lets a failed or expired job run again at once (staff pressed Retry).
// ErrNotFound when the number has no such job in a final state.
func (db *DB) RequeueMediaJob(ctx context.Context, phoneNumberID, mediaID string) error {
	res := db.q(ctx).Model(&models.MediaJob{}).
		Where("phone_number_id = ? AND media_id = ? AND state IN ?", phoneNumberID, mediaID,
			[]string{models.MediaFailed, models.MediaExpired}).
		Updates(map[string]any{
			"state": models.MediaPending, "attempts": 0, "next_attempt_ms": 0, "lease_owner": "", "lease_until_ms": 0,
			"updated_at": db.now(), "done_at": nil,
		})
	if res.Error != nil {
		return fmt.Errorf("requeue media job: %w", translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// MediaJob returns the job of a number's media id.
func (db *DB) MediaJob(ctx context.Context, phoneNumberID, mediaID string) (models.MediaJob, error) {
	var j models.MediaJob
	err := db.q(ctx).Where("phone_number_id = ? AND media_id = ?", phoneNumberID, mediaID).Take(&j).Error
	if err != nil {
		return j, fmt.Errorf("media job: %w", translate(err))
	}
	return j, nil
}

// MediaJobs returns the jobs of a number's media ids, by media id.
func (db *DB) MediaJobs(ctx context.Context, phoneNumberID string, mediaIDs []string) (map[string]models.MediaJob, error) {
	out := map[string]models.MediaJob{}
	ids := make([]string, 0, len(mediaIDs))
	for _, id := range mediaIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	for start := 0; start < len(ids); start += 500 {
		end := min(len(ids), start+500)
		var jobs []models.MediaJob
		if err := db.q(ctx).Where("phone_number_id = ? AND media_id IN ?", phoneNumberID, ids[start:end]).Find(&jobs).Error; err != nil {
			return nil, fmt.Errorf("media jobs: %w", translate(err))
		}
		for _, j := range jobs {
			out[j.MediaID] = j
		}
	}
	return out, nil
}

// ListMediaJobs returns up to limit jobs of a number ("" for all numbers), oldest first.
func (db *DB) ListMediaJobs(ctx context.Context, phoneNumberID string, limit int) ([]models.MediaJob, error) {
	q := db.q(ctx).Order("id").Limit(max(limit, 1))
	if phoneNumberID != "" {
		q = q.Where("phone_number_id = ?", phoneNumberID)
	}
	var jobs []models.MediaJob
	if err := q.Find(&jobs).Error; err != nil {
		return nil, fmt.Errorf("list media jobs: %w", translate(err))
	}
	return jobs, nil
}

// MessageMedia returns a number's message by wamid and the job of its media (nil when the
// message carries no media id, or its job is missing).
func (db *DB) MessageMedia(ctx context.Context, phoneNumberID, wamid string) (models.Message, *models.MediaJob, error) {
	var m models.Message
	if err := db.q(ctx).Omit("raw").Where("phone_number_id = ? AND wamid = ?", phoneNumberID, wamid).Take(&m).Error; err != nil {
		return m, nil, fmt.Errorf("message media: %w", translate(err))
	}
	if m.MediaID == "" {
		return m, nil, nil
	}
	j, err := db.MediaJob(ctx, phoneNumberID, m.MediaID)
	if errors.Is(err, ErrNotFound) {
		return m, nil, nil
	}
	if err != nil {
		return m, nil, err
	}
	return m, &j, nil
}

// MediaStats is what a number's media take.
type MediaStats struct {
	Stored       int64            // files downloaded (done jobs)
	Bytes        int64            // their sizes added up (a file two messages share counts twice)
	UniqueBytes  int64            // bytes of the distinct files (what the storage holds for the number)
	ByState      map[string]int64 // jobs by state
	OldestFailed *time.Time
}

// MediaJobCounts returns the number of media jobs per state, over every number (states
// without jobs are absent).
func (db *DB) MediaJobCounts(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		State string
		N     int
	}
	if err := db.q(ctx).Model(&models.MediaJob{}).Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("media job counts: %w", translate(err))
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// MediaStats counts a number's media jobs and stored bytes.
func (db *DB) MediaStats(ctx context.Context, phoneNumberID string) (MediaStats, error) {
	st := MediaStats{ByState: map[string]int64{}}
	var rows []struct {
		State string
		N     int64
		Bytes int64
	}
	if err := db.q(ctx).Model(&models.MediaJob{}).Select("state, COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes").
		Where("phone_number_id = ?", phoneNumberID).Group("state").Scan(&rows).Error; err != nil {
		return st, fmt.Errorf("media stats: %w", translate(err))
	}
	for _, r := range rows {
		st.ByState[r.State] = r.N
		if r.State == models.MediaDone {
			st.Stored, st.Bytes = r.N, r.Bytes
		}
	}
	var unique struct{ Bytes int64 }
	if err := db.q(ctx).Raw("SELECT COALESCE(SUM(size), 0) AS bytes FROM (SELECT sha256, MAX(size) AS size FROM media_jobs "+
		"WHERE phone_number_id = ? AND state = ? GROUP BY sha256) u", phoneNumberID, models.MediaDone).Scan(&unique).Error; err != nil {
		return st, fmt.Errorf("media stats: %w", translate(err))
	}
	st.UniqueBytes = unique.Bytes
	return st, nil
}

// PurgeMedia marks the stored media of messages older than before (message time) as purged
// and returns the SHA-256 of the files no job references any more, for the caller to delete
// from the storage. At most limit jobs are purged per call.
func (db *DB) PurgeMedia(ctx context.Context, before time.Time, limit int) (orphans []string, purged int, err error) {
	limit = max(limit, 1)
	err = db.Tx(ctx, func(tx *DB) error {
		orphans, purged = nil, 0 // a retried transaction starts again
		var jobs []struct {
			ID     uint64
			SHA256 string
		}
		if err := tx.q(ctx).Raw("SELECT j.id, j.sha256 FROM media_jobs j JOIN messages m ON m.phone_number_id = j.phone_number_id "+
			"AND m.wamid = j.wamid WHERE j.state = ? AND m.ts < ? ORDER BY j.id LIMIT ?",
			models.MediaDone, before.Unix(), limit).Scan(&jobs).Error; err != nil {
			return err
		}
		if len(jobs) == 0 {
			return nil
		}
		ids := make([]uint64, len(jobs))
		shas := map[string]bool{}
		for i, j := range jobs {
			ids[i] = j.ID
			shas[j.SHA256] = true
		}
		if err := tx.q(ctx).Model(&models.MediaJob{}).Where("id IN ?", ids).
			Updates(map[string]any{"state": models.MediaPurged, "updated_at": tx.now()}).Error; err != nil {
			return err
		}
		purged = len(ids)
		list := make([]string, 0, len(shas))
		for s := range shas {
			list = append(list, s)
		}
		var still []string
		if err := tx.q(ctx).Model(&models.MediaJob{}).Where("sha256 IN ? AND state = ?", list, models.MediaDone).
			Distinct().Pluck("sha256", &still).Error; err != nil {
			return err
		}
		kept := map[string]bool{}
		for _, s := range still {
			kept[s] = true
		}
		for _, s := range list {
			if !kept[s] {
				orphans = append(orphans, s)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("purge media: %w", translate(err))
	}
	return orphans, purged, nil
}

// RecordMediaOutcomes records the outcomes of jobs leased to owner in one transaction (a
// commit per batch instead of one per file). Outcomes of jobs no longer leased to owner are
// skipped and counted in lost.
func (db *DB) RecordMediaOutcomes(ctx context.Context, owner string, outs []models.MediaOutcome) (lost int, err error) {
	if len(outs) == 0 {
		return 0, nil
	}
	err = db.Tx(ctx, func(tx *DB) error {
		lost = 0
		now := tx.now()
		for _, o := range outs {
			set := map[string]any{"lease_owner": "", "lease_until_ms": 0, "updated_at": now}
			switch o.State {
			case models.MediaDone:
				set["state"], set["sha256"], set["size"], set["stored_mime_type"], set["error"], set["done_at"] =
					models.MediaDone, o.SHA256, o.Size, clip(o.MimeType, 128), "", now
			case models.MediaPending:
				set["state"], set["next_attempt_ms"], set["error"] = models.MediaPending, o.Next.UnixMilli(), clip(o.Error, maxInboxError)
			case models.MediaExpired, models.MediaFailed:
				set["state"], set["error"], set["done_at"] = o.State, clip(o.Error, maxInboxError), now
			default:
				return fmt.Errorf("media outcome: unknown state %q", o.State)
			}
			res := tx.q(ctx).Model(&models.MediaJob{}).
				Where("id = ? AND state = ? AND lease_owner = ?", o.ID, models.MediaProcessing, owner).Updates(set)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				lost++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("record media outcomes: %w", translate(err))
	}
	return lost, nil
}
