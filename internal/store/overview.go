package store

import (
	"context"

	"coexhistory/models"
)

// NumberCounts are the stored threads and messages of a number.
type NumberCounts struct {
	PhoneNumberID string `gorm:"column:phone_number_id"`
	Threads       int64  `gorm:"column:threads"`
	Messages      int64  `gorm:"column:messages"`
	LastMessageAt int64  `gorm:"column:last_message_at"`
}

// CountsByNumber returns per-number thread and message counts, from the threads table.
func (db *DB) CountsByNumber(ctx context.Context) (map[string]NumberCounts, error) {
	var rows []NumberCounts
	err := db.q(ctx).Table("threads").
		Select("phone_number_id, COUNT(*) AS threads, COALESCE(SUM(message_count), 0) AS messages, COALESCE(MAX(last_message_at), 0) AS last_message_at").
		Where(listedThread).Group("phone_number_id").Scan(&rows).Error
	if err != nil {
		return nil, translate(err)
	}
	out := make(map[string]NumberCounts, len(rows))
	for _, r := range rows {
		out[r.PhoneNumberID] = r
	}
	return out, nil
}

// SyncRuns returns every sync run by phone number id.
func (db *DB) SyncRuns(ctx context.Context) (map[string]models.SyncRun, error) {
	var runs []models.SyncRun
	if err := db.q(ctx).Find(&runs).Error; err != nil {
		return nil, translate(err)
	}
	out := make(map[string]models.SyncRun, len(runs))
	for _, r := range runs {
		out[r.PhoneNumberID] = r
	}
	return out, nil
}
