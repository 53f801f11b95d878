package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Preferences are what one staff member chose for themselves. Empty fields follow the
// browser.
type Preferences struct {
	UserID              uint64 `gorm:"column:user_id;primaryKey"`
	TimeZone            string `gorm:"column:time_zone"`
	Language            string `gorm:"column:language"`
	ConversationsSeenAt int64  `gorm:"column:conversations_seen_at"` // unix seconds; 0: never looked
}

type preferencesRow struct {
	Preferences
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func (preferencesRow) TableName() string { return "user_preferences" }

// UserPreferences returns the preferences of a user; a user who never chose anything gets
// the zero Preferences (with UserID set), not an error.
func (db *DB) UserPreferences(ctx context.Context, userID uint64) (Preferences, error) {
	var row preferencesRow
	err := db.q(ctx).Select("user_id", "time_zone", "language", "conversations_seen_at").Where("user_id = ?", userID).Take(&row).Error
	if err = translate(err); errors.Is(err, ErrNotFound) {
		return Preferences{UserID: userID}, nil
	}
	if err != nil {
		return Preferences{UserID: userID}, fmt.Errorf("read preferences: %w", err)
	}
	return row.Preferences, nil
}

// SetUserDisplay stores the time zone and language a user chose ("" for the browser's).
func (db *DB) SetUserDisplay(ctx context.Context, userID uint64, timeZone, language string) error {
	return db.upsertPreferences(ctx, Preferences{UserID: userID, TimeZone: timeZone, Language: language}, "time_zone", "language")
}

// MarkConversationsSeen records when a user last looked at the conversations list; an
// older time never replaces a newer one.
func (db *DB) MarkConversationsSeen(ctx context.Context, userID uint64, at int64) error {
	p, err := db.UserPreferences(ctx, userID)
	if err != nil {
		return err
	}
	if p.ConversationsSeenAt >= at {
		return nil
	}
	p.ConversationsSeenAt = at
	return db.upsertPreferences(ctx, p, "conversations_seen_at")
}

func (db *DB) upsertPreferences(ctx context.Context, p Preferences, columns ...string) error {
	row := preferencesRow{Preferences: p, UpdatedAt: db.now()}
	err := db.q(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns(append(columns, "updated_at")),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save preferences: %w", translate(err))
	}
	return nil
}
