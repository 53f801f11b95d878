package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm/clause"

	"coexhistory/internal/coex"
	"coexhistory/models"
)

// Sources of message events.
const (
	EventSourceWebhook  = "webhook"  // statuses[] of a messages webhook
	EventSourceAPI      = "api"      // Message History Events API; EventKey is Meta's event id
	EventSourceSnapshot = "snapshot" // history_context.status of an imported message; no time
)

// eventBatch is the number of rows one upsert statement writes.
const eventBatch = 500

// messageEventColumns are the columns event reads select.
var messageEventColumns = []string{"id", "phone_number_id", "wamid", "source", "event_key", "delivery_status",
	"occurrence_ts", "status_ts", "application_id", "application_name", "error_description",
	"webhook_update_state", "webhook_uri", "created_at"}

// messageEventUpdates are the columns a repeated event (same number, wamid, source, key)
// overwrites: Meta may report a later webhook_update_state for the same event id.
var messageEventUpdates = []string{"delivery_status", "occurrence_ts", "status_ts", "application_id",
	"application_name", "error_description", "webhook_update_state", "webhook_uri"}

// UpsertMessageEvents stores events, deduplicated by (phone_number_id, wamid, source,
// event_key): a repeated key updates the stored row (created_at stays). Within one call the
// last event of a key wins. Texts are cut to their column sizes.
func (db *DB) UpsertMessageEvents(ctx context.Context, events []models.MessageEvent) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]models.MessageEvent, 0, len(events))
	index := map[[4]string]int{}
	now := db.now()
	for _, e := range events {
		e.ID = 0
		fitMessageEvent(&e)
		if e.PhoneNumberID == "" || e.WAMID == "" || e.Source == "" || e.EventKey == "" {
			return fmt.Errorf("store message events: event of %q without number, wamid, source or key", e.WAMID)
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		key := [4]string{e.PhoneNumberID, e.WAMID, e.Source, e.EventKey}
		if i, ok := index[key]; ok {
			rows[i] = e
			continue
		}
		index[key] = len(rows)
		rows = append(rows, e)
	}
	upsert := clause.OnConflict{
		Columns:   []clause.Column{{Name: "phone_number_id"}, {Name: "wamid"}, {Name: "source"}, {Name: "event_key"}},
		DoUpdates: clause.AssignmentColumns(messageEventUpdates),
	}
	return db.Tx(ctx, func(tx *DB) error {
		for start := 0; start < len(rows); start += eventBatch {
			batch := rows[start:min(start+eventBatch, len(rows))]
			if err := tx.q(ctx).Omit("id").Clauses(upsert).Create(&batch).Error; err != nil {
				return fmt.Errorf("store message events: %w", translate(err))
			}
		}
		return nil
	})
}

// MessageEvents returns every stored event of one message, by occurrence time (events
// without a time first), then by id.
func (db *DB) MessageEvents(ctx context.Context, phoneNumberID, wamid string) ([]models.MessageEvent, error) {
	var events []models.MessageEvent
	err := db.q(ctx).Select(messageEventColumns).
		Where("phone_number_id = ? AND wamid = ?", phoneNumberID, wamid).
		Order("occurrence_ts, id").Find(&events).Error
	if err != nil {
		return nil, fmt.Errorf("read events of %q: %w", wamid, translate(err))
	}
	return events, nil
}

// MessageEventFetch returns when the events of a message were last fetched from Meta, or
// ErrNotFound when they never were.
func (db *DB) MessageEventFetch(ctx context.Context, phoneNumberID, wamid string) (models.MessageEventFetch, error) {
	var f models.MessageEventFetch
	err := db.q(ctx).Select("phone_number_id", "wamid", "fetched_at", "error_code", "error_message").
		Where("phone_number_id = ? AND wamid = ?", phoneNumberID, wamid).Take(&f).Error
	if err != nil {
		return f, fmt.Errorf("read events fetch of %q: %w", wamid, translate(err))
	}
	return f, nil
}

// PutMessageEventFetch records a fetch of a message's events (replacing the previous one).
// A zero FetchedAt is the store's now.
func (db *DB) PutMessageEventFetch(ctx context.Context, f models.MessageEventFetch) error {
	if f.FetchedAt.IsZero() {
		f.FetchedAt = db.now()
	}
	f.FetchedAt = f.FetchedAt.UTC()
	f.ErrorMessage = cutEventText(f.ErrorMessage, 1000)
	err := db.q(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "phone_number_id"}, {Name: "wamid"}},
		DoUpdates: clause.AssignmentColumns([]string{"fetched_at", "error_code", "error_message"}),
	}).Create(&f).Error
	if err != nil {
		return fmt.Errorf("record events fetch of %q: %w", f.WAMID, translate(err))
	}
	return nil
}

// MergeMessageStatus raises the stored status of a message to status when that ranks
// higher (coex.MergeStatus: a late lower status never lowers it, error is final) and
// returns the status kept. An unknown message is ErrNotFound.
func (db *DB) MergeMessageStatus(ctx context.Context, phoneNumberID, wamid, status string) (string, error) {
	// Compare-and-set, so a concurrent writer (the ingest worker) is never overwritten by a
	// stale read: retry when the row changed between read and write.
	for range 5 {
		var cur struct {
			Status string `gorm:"column:status"`
		}
		err := db.q(ctx).Table("messages").Select("status").
			Where("phone_number_id = ? AND wamid = ?", phoneNumberID, wamid).Take(&cur).Error
		if err != nil {
			return "", fmt.Errorf("merge status of %q: %w", wamid, translate(err))
		}
		merged := coex.MergeStatus(cur.Status, status)
		if merged == cur.Status {
			return merged, nil
		}
		res := db.q(ctx).Table("messages").
			Where("phone_number_id = ? AND wamid = ? AND status = ?", phoneNumberID, wamid, cur.Status).
			Updates(map[string]any{"status": merged, "updated_at": db.now()})
		if res.Error != nil {
			return "", fmt.Errorf("merge status of %q: %w", wamid, translate(res.Error))
		}
		if res.RowsAffected == 1 {
			return merged, nil
		}
	}
	return "", fmt.Errorf("merge status of %q: the message kept changing", wamid)
}

// fitMessageEvent cuts the texts of e to the sizes of their MySQL columns.
func fitMessageEvent(e *models.MessageEvent) {
	e.EventKey = cutEventText(e.EventKey, 128)
	e.DeliveryStatus = cutEventText(e.DeliveryStatus, 32)
	e.ApplicationID = cutEventText(e.ApplicationID, 64)
	e.ApplicationName = cutEventText(e.ApplicationName, 255)
	e.ErrorDescription = cutEventText(e.ErrorDescription, 1000)
	e.WebhookUpdateState = cutEventText(e.WebhookUpdateState, 32)
	e.WebhookURI = cutEventText(e.WebhookURI, 1000)
	if !e.CreatedAt.IsZero() {
		e.CreatedAt = e.CreatedAt.UTC()
	}
}

// cutEventText returns s as valid UTF-8, cut to at most n runes.
func cutEventText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// Edit is one edit of a message: the text it set and when.
type Edit struct {
	WAMID string // the edit's own wamid ("" when it came without one)
	Text  string
	TS    int64
}

// EditsOf returns the edits of these messages of a number, keyed by the edited message's
// wamid, oldest first (ties by arrival). Each edit keeps the text it set, so together with
// the message's original (its raw JSON) every version stays readable.
func (db *DB) EditsOf(ctx context.Context, phoneNumberID string, wamids []string) (map[string][]Edit, error) {
	out := map[string][]Edit{}
	const batch = 500
	for start := 0; start < len(wamids); start += batch {
		chunk := wamids[start:min(start+batch, len(wamids))]
		var rows []struct {
			WAMID    string `gorm:"column:wamid"`
			EventKey string `gorm:"column:event_key"`
			TS       int64  `gorm:"column:occurrence_ts"`
			Text     string `gorm:"column:text"`
		}
		err := db.q(ctx).Model(&models.MessageEvent{}).Select("wamid", "event_key", "occurrence_ts", "text").
			Where("phone_number_id = ? AND source = ? AND delivery_status = ? AND wamid IN ?", phoneNumberID, EventSourceEcho, echoEventEdited, chunk).
			Order("occurrence_ts ASC, id ASC").Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("read edits: %w", translate(err))
		}
		for _, r := range rows {
			e := Edit{Text: r.Text, TS: r.TS}
			if w, ok := strings.CutPrefix(r.EventKey, echoEventEdited+":"); ok && w != strconv.FormatInt(r.TS, 10) {
				e.WAMID = w // see echoEvent: the key is the edit's wamid, or its time without one
			}
			out[r.WAMID] = append(out[r.WAMID], e)
		}
	}
	return out, nil
}
