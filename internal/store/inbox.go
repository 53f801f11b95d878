package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"coexhistory/models"
)

// ErrLeaseLost means an inbox row is no longer leased by the caller: its lease expired and
// another worker claimed it, or staff requeued it. The caller's work is not recorded.
var ErrLeaseLost = errors.New("inbox lease lost")

// inboxListColumns are the columns of inbox lists: everything but the body.
var inboxListColumns = []string{"id", "body_sha256", "source", "size", "received_at", "state", "field",
	"phone_number_id", "attempts", "lease_owner", "lease_until_ms", "error", "processed_at", "body_purged_at"}

// maxInboxError bounds the error text kept on a row (the column is TEXT).
const maxInboxError = 16000

// InsertInbox durably stores a received webhook body, unique on its SHA-256. A body
// already stored returns the existing row's id with duplicate=true and stores nothing new.
// On return without error the row is committed.
func (db *DB) InsertInbox(ctx context.Context, source string, body []byte) (id uint64, duplicate bool, err error) {
	sum := sha256.Sum256(body)
	item := models.InboxItem{
		BodySHA256: hex.EncodeToString(sum[:]),
		Source:     source,
		Body:       body,
		Size:       len(body),
		ReceivedAt: db.now(),
		State:      models.InboxPending,
	}
	if body == nil {
		item.Body = []byte{}
	}
	// A body already stored (a retried or replayed delivery) is found by its hash without
	// sending it to the database again.
	var known []uint64
	if err := db.q(ctx).Model(&models.InboxItem{}).Where("body_sha256 = ?", item.BodySHA256).Limit(1).Pluck("id", &known).Error; err != nil {
		return 0, false, fmt.Errorf("insert inbox: %w", translate(err))
	}
	if len(known) > 0 {
		return known[0], true, nil
	}
	for attempt := 0; ; attempt++ {
		if db.dialect == MySQL {
			item.ID, err = db.insertInboxPrepared(ctx, item)
		} else {
			err = db.q(ctx).Create(&item).Error
		}
		if err == nil || !retryableTx(err) || attempt == 3 {
			break
		}
		item.ID = 0
	}
	if err == nil {
		return item.ID, false, nil
	}
	if !isDuplicate(err) {
		return 0, false, fmt.Errorf("insert inbox: %w", translate(err))
	}
	var existing models.InboxItem
	if err := db.q(ctx).Select("id").Where("body_sha256 = ?", item.BodySHA256).Take(&existing).Error; err != nil {
		return 0, false, fmt.Errorf("insert inbox: find duplicate: %w", translate(err))
	}
	return existing.ID, true, nil
}

// insertInboxPrepared inserts a row on MySQL/MariaDB with a server-side prepared statement:
// the body travels as it is in the binary protocol instead of being escaped into a query
// string twice its size (with 3 MB bodies this halves the time to answer the webhook).
func (db *DB) insertInboxPrepared(ctx context.Context, it models.InboxItem) (uint64, error) {
	stmt, err := db.gorm.Statement.ConnPool.PrepareContext(ctx, "INSERT INTO webhook_inbox (body_sha256, source, body, size, received_at, "+
		"state, field, phone_number_id, attempts, lease_owner, lease_until_ms, error, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	res, err := stmt.ExecContext(ctx, it.BodySHA256, it.Source, it.Body, it.Size, it.ReceivedAt,
		it.State, it.Field, it.PhoneNumberID, it.Attempts, it.LeaseOwner, it.LeaseUntilMs, it.Error, it.ProcessedAt)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	return uint64(id), err
}

// ClaimInbox leases up to limit rows to owner for lease: pending rows, and processing rows
// whose lease has expired (a crashed or stuck worker), oldest first. It is safe with several
// workers and app instances: a row is leased to one owner at a time. The claimed rows are
// returned with their bodies and their attempts already counted.
func (db *DB) ClaimInbox(ctx context.Context, owner string, lease time.Duration, limit int) ([]models.InboxItem, error) {
	if owner == "" {
		return nil, errors.New("claim inbox: empty owner")
	}
	if limit <= 0 {
		limit = 1
	}
	nowMs := db.now().UnixMilli()
	until := nowMs + lease.Milliseconds()
	var ids []uint64
	var err error
	switch db.dialect {
	case MySQL:
		ids, err = db.claimSkipLocked(ctx, owner, nowMs, until, limit)
	default:
		ids, err = db.claimReturning(ctx, owner, nowMs, until, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("claim inbox: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var items []models.InboxItem
	err = db.q(ctx).Where("id IN ? AND lease_owner = ? AND state = ?", ids, owner, models.InboxProcessing).
		Order("id").Find(&items).Error
	if err != nil {
		return nil, fmt.Errorf("claim inbox: read claimed rows: %w", translate(err))
	}
	return items, nil
}

const claimableWhere = "(state = ? OR (state = ? AND lease_until_ms < ?))"

// claimSkipLocked claims on MySQL/MariaDB: the candidate rows are locked with SKIP LOCKED,
// so concurrent claimers pass over each other's rows instead of waiting. READ COMMITTED
// takes no gap locks, so the receiver's inserts never wait for (or deadlock with) a claim.
func (db *DB) claimSkipLocked(ctx context.Context, owner string, nowMs, until int64, limit int) ([]uint64, error) {
	var ids []uint64
	// Retried as a whole: on a Galera cluster SKIP LOCKED does not see another node's locks,
	// and two nodes claiming the same rows conflict at commit (1213).
	err := db.retry.do(ctx, "claim inbox", nil, func() error {
		ids = nil
		return db.q(ctx).Transaction(func(tx *gorm.DB) error {
			err := tx.Raw("SELECT id FROM webhook_inbox WHERE "+claimableWhere+" ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
				models.InboxPending, models.InboxProcessing, nowMs, limit).Scan(&ids).Error
			if err != nil || len(ids) == 0 {
				return err
			}
			return tx.Exec("UPDATE webhook_inbox SET state = ?, lease_owner = ?, lease_until_ms = ?, attempts = attempts + 1 WHERE id IN ?",
				models.InboxProcessing, owner, until, ids).Error
		}, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	})
	return ids, translate(err)
}

// claimReturning claims on SQLite with one conditional UPDATE: SQLite runs one writer at a
// time, so the statement is atomic against every other claimer.
func (db *DB) claimReturning(ctx context.Context, owner string, nowMs, until int64, limit int) ([]uint64, error) {
	var ids []uint64
	err := db.q(ctx).Raw("UPDATE webhook_inbox SET state = ?, lease_owner = ?, lease_until_ms = ?, attempts = attempts + 1 "+
		"WHERE id IN (SELECT id FROM webhook_inbox WHERE "+claimableWhere+" ORDER BY id LIMIT ?) RETURNING id",
		models.InboxProcessing, owner, until,
		models.InboxPending, models.InboxProcessing, nowMs, limit).Scan(&ids).Error
	return ids, translate(err)
}

// CompleteInbox marks a leased row done, recording the webhook field(s) and the business
// number it carried, and an optional note (e.g. "unknown field kept raw"). It returns
// ErrLeaseLost when the row is no longer leased by owner.
func (db *DB) CompleteInbox(ctx context.Context, id uint64, owner, field, phoneNumberID, note string) error {
	res := db.q(ctx).Model(&models.InboxItem{}).
		Where("id = ? AND state = ? AND lease_owner = ?", id, models.InboxProcessing, owner).
		Updates(map[string]any{
			"state":           models.InboxDone,
			"field":           clip(field, 64),
			"phone_number_id": clip(phoneNumberID, 32),
			"error":           clip(note, maxInboxError),
			"lease_owner":     "",
			"lease_until_ms":  0,
			"processed_at":    db.now(),
		})
	return leaseResult("complete inbox", res)
}

// FailInbox marks a leased row failed with its error, kept for staff to inspect and
// requeue. It returns ErrLeaseLost when the row is no longer leased by owner.
func (db *DB) FailInbox(ctx context.Context, id uint64, owner, errText string) error {
	res := db.q(ctx).Model(&models.InboxItem{}).
		Where("id = ? AND state = ? AND lease_owner = ?", id, models.InboxProcessing, owner).
		Updates(map[string]any{
			"state":          models.InboxFailed,
			"error":          clip(errText, maxInboxError),
			"lease_owner":    "",
			"lease_until_ms": 0,
			"processed_at":   db.now(),
		})
	return leaseResult("fail inbox", res)
}

// RetryInbox gives a leased row back after a transient error (the database was busy or
// down): it stays in processing with no owner until retryAfter has passed, then any
// worker claims it again. The error is kept on the row meanwhile.
func (db *DB) RetryInbox(ctx context.Context, id uint64, owner, errText string, retryAfter time.Duration) error {
	res := db.q(ctx).Model(&models.InboxItem{}).
		Where("id = ? AND state = ? AND lease_owner = ?", id, models.InboxProcessing, owner).
		Updates(map[string]any{
			"error":          clip(errText, maxInboxError),
			"lease_owner":    "",
			"lease_until_ms": db.now().Add(retryAfter).UnixMilli(),
		})
	return leaseResult("retry inbox", res)
}

func leaseResult(op string, res *gorm.DB) error {
	if res.Error != nil {
		return fmt.Errorf("%s: %w", op, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", op, ErrLeaseLost)
	}
	return nil
}

// InboxFilter selects inbox rows for the admin page.
type InboxFilter struct {
	State    string // models.Inbox*; "" for all
	Field    string // webhook field as recorded after processing; "" for all
	BeforeID uint64 // keyset cursor: rows with a smaller id
	Limit    int    // default 50, at most 500
}

// ListInbox lists inbox rows newest first, without their bodies.
func (db *DB) ListInbox(ctx context.Context, f InboxFilter) ([]models.InboxItem, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q := db.q(ctx).Model(&models.InboxItem{}).Select(inboxListColumns)
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.Field != "" {
		q = q.Where("field = ?", f.Field)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []models.InboxItem
	if err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list inbox: %w", translate(err))
	}
	return out, nil
}

// GetInbox returns one inbox row with its body.
func (db *DB) GetInbox(ctx context.Context, id uint64) (models.InboxItem, error) {
	var it models.InboxItem
	err := db.q(ctx).Where("id = ?", id).Take(&it).Error
	return it, translate(err)
}

// RequeueInbox puts a row back to pending so a worker processes it again (the reprocess
// button). Applying a body is idempotent, so requeueing a done row changes nothing but its
// state. The attempts counter restarts.
func (db *DB) RequeueInbox(ctx context.Context, id uint64) error {
	res := db.q(ctx).Model(&models.InboxItem{}).Where("id = ?", id).Updates(map[string]any{
		"state":          models.InboxPending,
		"lease_owner":    "",
		"lease_until_ms": 0,
		"attempts":       0,
	})
	if res.Error != nil {
		return fmt.Errorf("requeue inbox: %w", translate(res.Error))
	}
	if res.RowsAffected == 0 {
		// MySQL counts only rows it changed: a row already waiting with nothing to reset
		// is found, not missing.
		var n int64
		if err := db.q(ctx).Model(&models.InboxItem{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return fmt.Errorf("requeue inbox: %w", translate(err))
		}
		if n == 0 {
			return ErrNotFound
		}
	}
	return nil
}

// InboxCounts returns the number of rows per state (states without rows are absent).
func (db *DB) InboxCounts(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		State string `gorm:"column:state"`
		N     int    `gorm:"column:n"`
	}
	if err := db.q(ctx).Table("webhook_inbox").Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("inbox counts: %w", translate(err))
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// RenewInbox extends to lease from now the lease of every row owner holds (the worker's
// heartbeat), so that a lease can be short and still cover a long apply. It returns how
// many rows were renewed.
func (db *DB) RenewInbox(ctx context.Context, owner string, lease time.Duration) (int64, error) {
	if owner == "" {
		return 0, errors.New("renew inbox: empty owner")
	}
	res := db.q(ctx).Model(&models.InboxItem{}).
		Where("state = ? AND lease_owner = ?", models.InboxProcessing, owner).
		Update("lease_until_ms", db.now().Add(lease).UnixMilli())
	if res.Error != nil {
		return 0, fmt.Errorf("renew inbox: %w", translate(res.Error))
	}
	return res.RowsAffected, nil
}

// ReleaseInstanceClaims gives back at once the rows leased by a previous run of the same
// instance: every processing row whose owner starts with instance + "/" but is not owner
// (the new run) returns to pending, its attempts kept. An instance that restarts after a
// crash so takes its predecessor's claims back without waiting for their leases to end.
func (db *DB) ReleaseInstanceClaims(ctx context.Context, instance, owner string) (int64, error) {
	if instance == "" {
		return 0, errors.New("release instance claims: empty instance")
	}
	prefix := instance + "/"
	res := db.q(ctx).Model(&models.InboxItem{}).
		Where("state = ? AND lease_owner <> ? AND lease_owner <> '' AND SUBSTR(lease_owner, 1, ?) = ?", models.InboxProcessing, owner, len(prefix), prefix).
		Updates(map[string]any{"state": models.InboxPending, "lease_owner": "", "lease_until_ms": 0})
	if res.Error != nil {
		return 0, fmt.Errorf("release instance claims: %w", translate(res.Error))
	}
	return res.RowsAffected, nil
}

// KeepInboxUnknownNumber sets a leased row aside in state unknown_number: its body names
// phoneNumberID, which is not registered. It is applied once the number is registered
// (ReleaseUnknownNumber). It returns ErrLeaseLost when the row is no longer leased by owner.
func (db *DB) KeepInboxUnknownNumber(ctx context.Context, id uint64, owner, field, phoneNumberID, note string) error {
	return db.setAside(ctx, "keep inbox row for an unknown number", id, owner, models.InboxUnknownNumber, field, phoneNumberID, note)
}

// RefuseInbox sets a leased row aside in state refused, with why: it may not be applied
// (a Positus webhook naming a number of another provider). It is kept for staff and never
// claimed again. It returns ErrLeaseLost when the row is no longer leased by owner.
func (db *DB) RefuseInbox(ctx context.Context, id uint64, owner, field, phoneNumberID, why string) error {
	return db.setAside(ctx, "refuse inbox row", id, owner, models.InboxRefused, field, phoneNumberID, why)
}

func (db *DB) setAside(ctx context.Context, op string, id uint64, owner, state, field, phoneNumberID, note string) error {
	res := db.q(ctx).Model(&models.InboxItem{}).
		Where("id = ? AND state = ? AND lease_owner = ?", id, models.InboxProcessing, owner).
		Updates(map[string]any{
			"state":           state,
			"field":           clip(field, 64),
			"phone_number_id": clip(phoneNumberID, 32),
			"error":           clip(note, maxInboxError),
			"lease_owner":     "",
			"lease_until_ms":  0,
			"processed_at":    db.now(),
		})
	return leaseResult(op, res)
}

// ReleaseUnknownNumber puts the rows kept for phoneNumberID (state unknown_number) back
// to pending, so that they are applied now that the number is registered, and returns
// how many.
func (db *DB) ReleaseUnknownNumber(ctx context.Context, phoneNumberID string) (int64, error) {
	res := db.q(ctx).Model(&models.InboxItem{}).
		Where("phone_number_id = ? AND state = ?", phoneNumberID, models.InboxUnknownNumber).
		Updates(map[string]any{"state": models.InboxPending, "attempts": 0, "processed_at": nil})
	if res.Error != nil {
		return 0, fmt.Errorf("release unknown number: %w", translate(res.Error))
	}
	return res.RowsAffected, nil
}

// ReleaseRegisteredNumbers does ReleaseUnknownNumber for every number registered now (one
// registered by another instance, the API or the CLI) and returns how many rows it released.
func (db *DB) ReleaseRegisteredNumbers(ctx context.Context) (int64, error) {
	res := db.q(ctx).Model(&models.InboxItem{}).
		Where("state = ? AND phone_number_id IN (SELECT phone_number_id FROM business_numbers)", models.InboxUnknownNumber).
		Updates(map[string]any{"state": models.InboxPending, "attempts": 0, "processed_at": nil})
	if res.Error != nil {
		return 0, fmt.Errorf("release registered numbers: %w", translate(res.Error))
	}
	return res.RowsAffected, nil
}

// NumberProviders returns the provider of each of phoneNumberIDs that is registered;
// unregistered ones are absent.
func (db *DB) NumberProviders(ctx context.Context, phoneNumberIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(phoneNumberIDs))
	if len(phoneNumberIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		PhoneNumberID string `gorm:"column:phone_number_id"`
		Provider      string `gorm:"column:provider"`
	}
	if err := db.q(ctx).Table("business_numbers").Select("phone_number_id, provider").
		Where("phone_number_id IN ?", phoneNumberIDs).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("number providers: %w", translate(err))
	}
	for _, r := range rows {
		out[r.PhoneNumberID] = r.Provider
	}
	return out, nil
}

// PurgeInboxBodies removes the bodies of at most batch applied rows (state done) processed
// before cutoff, oldest first, and returns how many it removed. The rows stay with their
// hash, size, field, number and outcome (a replay is still known by its hash); rows in any
// other state keep their bodies. Each call is one short statement pair, so a purge run in
// small batches never holds ingest up.
func (db *DB) PurgeInboxBodies(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = 100
	}
	var ids []uint64
	if err := db.q(ctx).Model(&models.InboxItem{}).
		Where("state = ? AND processed_at < ? AND body_purged_at IS NULL", models.InboxDone, cutoff).
		Order("processed_at, id").Limit(batch).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("purge inbox bodies: %w", translate(err))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	res := db.q(ctx).Model(&models.InboxItem{}).
		Where("id IN ? AND state = ? AND body_purged_at IS NULL", ids, models.InboxDone).
		Updates(map[string]any{"body": []byte{}, "body_purged_at": db.now()})
	if res.Error != nil {
		return 0, fmt.Errorf("purge inbox bodies: %w", translate(res.Error))
	}
	return res.RowsAffected, nil
}

// InboxHealth is what the metrics read of the inbox at scrape time.
type InboxHealth struct {
	Counts        map[string]int // rows by state
	OldestPending time.Time      // received_at of the oldest pending or processing row; zero for none
}

// InboxHealth reads the inbox figures of the metrics: the counts by state and the oldest
// row not applied yet (a range of the state index).
func (db *DB) InboxHealth(ctx context.Context) (InboxHealth, error) {
	var h InboxHealth
	var err error
	if h.Counts, err = db.InboxCounts(ctx); err != nil {
		return h, err
	}
	// The oldest row by id (ids follow arrival), found on the state index, then its time.
	var first struct {
		ID *uint64 `gorm:"column:first"`
	}
	if err := db.q(ctx).Model(&models.InboxItem{}).Select("MIN(id) AS first").
		Where("state IN ?", []string{models.InboxPending, models.InboxProcessing}).Scan(&first).Error; err != nil {
		return h, fmt.Errorf("inbox health: %w", translate(err))
	}
	if first.ID != nil {
		var it models.InboxItem
		if err := db.q(ctx).Select("id", "received_at").Where("id = ?", *first.ID).Take(&it).Error; err == nil {
			h.OldestPending = it.ReceivedAt
		} else if !errors.Is(translate(err), ErrNotFound) {
			return h, fmt.Errorf("inbox health: %w", translate(err))
		}
	}
	return h, nil
}

// Inbox rows by the SHA-256 of their bodies (hex, as InsertInbox stores them): how a tool
// that posted webhooks of its own finds the rows they made.

// InboxStatesOfBodies counts the inbox rows of these bodies per state.
func (db *DB) InboxStatesOfBodies(ctx context.Context, sha256s []string) (map[string]int64, error) {
	out := map[string]int64{}
	err := db.eachBodyChunk(sha256s, func(in string, args []any) error {
		return db.rawQuery(ctx, "SELECT state, COUNT(*) FROM webhook_inbox WHERE body_sha256 IN ("+in+") GROUP BY state", args, func(r *sql.Rows) error {
			var state string
			var n int64
			if err := r.Scan(&state, &n); err != nil {
				return err
			}
			out[state] += n
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("inbox states of bodies: %w", translate(err))
	}
	return out, nil
}

// InboxIDsOfBodies returns the ids of the inbox rows of these bodies, in id order per
// chunk of bodies.
func (db *DB) InboxIDsOfBodies(ctx context.Context, sha256s []string) ([]uint64, error) {
	var ids []uint64
	err := db.eachBodyChunk(sha256s, func(in string, args []any) error {
		return db.rawQuery(ctx, "SELECT id FROM webhook_inbox WHERE body_sha256 IN ("+in+") ORDER BY id", args, func(r *sql.Rows) error {
			var id uint64
			if err := r.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("inbox rows of bodies: %w", translate(err))
	}
	return ids, nil
}

// FirstInboxErrorOfBodies returns the error of the first failed inbox row of these bodies
// ("" when none failed).
func (db *DB) FirstInboxErrorOfBodies(ctx context.Context, sha256s []string) (string, error) {
	var first string
	err := db.eachBodyChunk(sha256s, func(in string, args []any) error {
		if first != "" {
			return nil
		}
		return db.rawQuery(ctx, "SELECT error FROM webhook_inbox WHERE body_sha256 IN ("+in+") AND state = ? ORDER BY id LIMIT 1",
			append(args, models.InboxFailed), func(r *sql.Rows) error { return r.Scan(&first) })
	})
	if err != nil {
		return "", fmt.Errorf("inbox error of bodies: %w", translate(err))
	}
	return first, nil
}

// DeleteInboxBodies deletes the inbox rows of these bodies and returns how many it deleted.
func (db *DB) DeleteInboxBodies(ctx context.Context, sha256s []string) (int64, error) {
	var deleted int64
	err := db.eachBodyChunk(sha256s, func(in string, args []any) error {
		n, err := db.rawExec(ctx, "DELETE FROM webhook_inbox WHERE body_sha256 IN ("+in+")", args...)
		deleted += n
		return err
	})
	if err != nil {
		return deleted, fmt.Errorf("delete inbox rows of bodies: %w", translate(err))
	}
	return deleted, nil
}

// eachBodyChunk calls fn with a placeholder list and its arguments for each chunk of the
// body hashes.
func (db *DB) eachBodyChunk(sha256s []string, fn func(in string, args []any) error) error {
	batch := min(500, db.keysPerStatement())
	for start := 0; start < len(sha256s); start += batch {
		part := sha256s[start:min(start+batch, len(sha256s))]
		if err := fn(sqlPlaceholders(len(part)), sqlStringArgs(part)); err != nil {
			return err
		}
	}
	return nil
}
