package store

import (
	"context"
	"fmt"
	"time"

	"coexhistory/models"
)

// WebhookHealth is how the webhooks of one business number fare, for the admins' health
// overview. The rows of webhooks not yet matched to a number are under phone_number_id "".
type WebhookHealth struct {
	PhoneNumberID string
	LastAt        time.Time // when its latest webhook arrived (zero: none)
	Failed        int64     // webhooks that could not be applied
	Backlog       int64     // webhooks waiting to be applied
	LastError     string    // the error of its latest failed webhook
	LastErrorAt   time.Time
}

// WebhookHealthByNumber sums up the webhook inbox per number: counts by state from
// ix_webhook_inbox_number, then the newest row of each number and its newest failure.
func (db *DB) WebhookHealthByNumber(ctx context.Context) (map[string]WebhookHealth, error) {
	var groups []struct {
		PhoneNumberID string `gorm:"column:phone_number_id"`
		State         string `gorm:"column:state"`
		N             int64  `gorm:"column:n"`
		LastID        uint64 `gorm:"column:last_id"`
	}
	if err := db.q(ctx).Raw(`SELECT phone_number_id, state, COUNT(*) AS n, MAX(id) AS last_id
		FROM webhook_inbox GROUP BY phone_number_id, state`).Scan(&groups).Error; err != nil {
		return nil, fmt.Errorf("webhook health: %w", translate(err))
	}
	out := map[string]WebhookHealth{}
	lastOf, failedOf := map[string]uint64{}, map[string]uint64{}
	for _, g := range groups {
		h := out[g.PhoneNumberID]
		h.PhoneNumberID = g.PhoneNumberID
		switch g.State {
		case models.InboxFailed:
			h.Failed += g.N
			failedOf[g.PhoneNumberID] = g.LastID
		case models.InboxDone:
		default:
			h.Backlog += g.N
		}
		lastOf[g.PhoneNumberID] = max(lastOf[g.PhoneNumberID], g.LastID)
		out[g.PhoneNumberID] = h
	}
	ids := make([]uint64, 0, len(lastOf)+len(failedOf))
	for _, id := range lastOf {
		ids = append(ids, id)
	}
	for _, id := range failedOf {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID         uint64    `gorm:"column:id"`
		ReceivedAt time.Time `gorm:"column:received_at"`
		Error      string    `gorm:"column:error"`
	}
	if err := db.q(ctx).Table("webhook_inbox").Select("id", "received_at", "error").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("webhook health: %w", translate(err))
	}
	byID := make(map[uint64]int, len(rows))
	for i, r := range rows {
		byID[r.ID] = i
	}
	for pnid, h := range out {
		if i, ok := byID[lastOf[pnid]]; ok {
			h.LastAt = rows[i].ReceivedAt.UTC()
		}
		if i, ok := byID[failedOf[pnid]]; ok && failedOf[pnid] != 0 {
			h.LastError, h.LastErrorAt = rows[i].Error, rows[i].ReceivedAt.UTC()
		}
		out[pnid] = h
	}
	return out, nil
}
