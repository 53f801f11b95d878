package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Figures of what one number holds, as tools that check an ingest (the benchmarks) read
// them; the pages read threads.message_count instead.

// CountMessageRows counts the message rows of a number: every message stored once,
// reactions included.
func (db *DB) CountMessageRows(ctx context.Context, phoneNumberID string) (int64, error) {
	var n int64
	err := db.rawQuery(ctx, "SELECT COUNT(*) FROM messages WHERE phone_number_id = ?", []any{phoneNumberID},
		func(r *sql.Rows) error { return r.Scan(&n) })
	if err != nil {
		return 0, fmt.Errorf("count messages of %s: %w", phoneNumberID, translate(err))
	}
	return n, nil
}

// LatestMessageUpdate is the latest updated_at of a number's messages as the database
// holds it ("" without messages): equal before and after a replay when the replay changed
// no message.
func (db *DB) LatestMessageUpdate(ctx context.Context, phoneNumberID string) (string, error) {
	var last sql.NullString
	err := db.rawQuery(ctx, "SELECT MAX(updated_at) FROM messages WHERE phone_number_id = ?", []any{phoneNumberID},
		func(r *sql.Rows) error { return r.Scan(&last) })
	if err != nil {
		return "", fmt.Errorf("latest message update of %s: %w", phoneNumberID, translate(err))
	}
	return last.String, nil
}

// NewestActivity is the last_message_at (unix seconds) of a number's most recent thread, 0
// without threads.
func (db *DB) NewestActivity(ctx context.Context, phoneNumberID string) (int64, error) {
	var newest int64
	err := db.rawQuery(ctx, "SELECT COALESCE(MAX(last_message_at), 0) FROM threads WHERE phone_number_id = ?", []any{phoneNumberID},
		func(r *sql.Rows) error { return r.Scan(&newest) })
	if err != nil {
		return 0, fmt.Errorf("newest activity of %s: %w", phoneNumberID, translate(err))
	}
	return newest, nil
}
