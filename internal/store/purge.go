package store

import (
	"context"
	"fmt"
)

// Removing what a number holds, for tools that store data under a number of their own (the
// benchmarks) and take it away again.

// numberTables are the tables whose rows belong to one phone_number_id, messages aside
// (deleted first, in batches), the number itself last.
var numberTables = []string{"threads", "contacts", "contact_aliases", "history_chunks", "sync_runs", "media_jobs",
	"message_events", "message_event_fetches", "account_events", "business_numbers"}

// PurgeNumber deletes everything stored under a phone_number_id: its messages (in batches
// of 20,000 on MySQL, so no statement holds locks for long), threads, contacts, chunk
// ledger, sync run, media jobs, events and the number itself. The audit log and the
// webhook inbox keep their rows. It returns how many messages it deleted.
func (db *DB) PurgeNumber(ctx context.Context, phoneNumberID string) (int64, error) {
	q := "DELETE FROM messages WHERE phone_number_id = ?"
	if db.dialect == MySQL {
		q += " LIMIT 20000"
	}
	var deleted int64
	for {
		n, err := db.rawExec(ctx, q, phoneNumberID)
		if err != nil {
			return deleted, fmt.Errorf("purge number %s: messages: %w", phoneNumberID, translate(err))
		}
		deleted += n
		if n == 0 || db.dialect != MySQL {
			break
		}
	}
	for _, table := range numberTables {
		if _, err := db.rawExec(ctx, "DELETE FROM "+table+" WHERE phone_number_id = ?", phoneNumberID); err != nil {
			return deleted, fmt.Errorf("purge number %s: %s: %w", phoneNumberID, table, translate(err))
		}
	}
	return deleted, nil
}

// RefreshStatistics has the database refresh its table statistics after a bulk load, so
// the planner sees the new sizes.
func (db *DB) RefreshStatistics(ctx context.Context) error {
	q := "ANALYZE"
	if db.dialect == MySQL {
		q = "ANALYZE TABLE messages, threads"
	}
	if _, err := db.rawExec(ctx, q); err != nil {
		return fmt.Errorf("refresh statistics: %w", translate(err))
	}
	return nil
}

// CompactMessages rebuilds the messages table on MySQL, where InnoDB keeps deleted rows in
// the FULLTEXT index (a list every search filters out) until the table is optimized. A
// no-op on SQLite.
func (db *DB) CompactMessages(ctx context.Context) error {
	if db.dialect != MySQL {
		return nil
	}
	if _, err := db.rawExec(ctx, "OPTIMIZE TABLE messages"); err != nil {
		return fmt.Errorf("optimize messages: %w", translate(err))
	}
	return nil
}
