package bench

import (
	"context"
	"fmt"
	"strings"

	"coexhistory/internal/store"
	"coexhistory/models"
)

// Bulk-load shape: rows per INSERT statement and rows per transaction. SQLite statements are
// smaller because the pure-Go driver binds parameters in time quadratic in their number:
// 1,000-row statements (21,000 parameters) load about five times slower than 50-row ones.
const (
	RowsPerStatement       = 1000
	SQLiteRowsPerStatement = 50
	RowsPerTransaction     = 10000
)

var threadInsertColumns = []string{"phone_number_id", "contact_wa_id", "contact_name", "message_count",
	"first_message_at", "last_message_at"}

var messageInsertColumns = []string{"phone_number_id", "wamid", "thread_id", "contact_wa_id", "direction",
	"type", "text", "ts", "status", "origin", "edited", "deleted", "media_id", "mime_type", "reaction_to",
	"phase", "chunk_order", "position", "raw", "created_at", "updated_at"}

// InsertThreads inserts threads with multi-row INSERTs and sets each one's ID. The
// (phone_number_id, contact_wa_id) pairs must be new.
func InsertThreads(ctx context.Context, db *store.DB, threads []models.Thread) error {
	err := insertRows(ctx, db, "threads", threadInsertColumns, len(threads), func(i int) []any {
		t := threads[i]
		return []any{t.PhoneNumberID, t.ContactWAID, t.ContactName, t.MessageCount, t.FirstMessageAt, t.LastMessageAt}
	})
	if err != nil {
		return fmt.Errorf("insert threads: %w", err)
	}
	// Read the ids back, number by number.
	index := map[[2]string]int{}
	seen := map[string]bool{}
	var numbers []string
	for i, t := range threads {
		if !seen[t.PhoneNumberID] {
			seen[t.PhoneNumberID] = true
			numbers = append(numbers, t.PhoneNumberID)
		}
		index[[2]string{t.PhoneNumberID, t.ContactWAID}] = i
	}
	for _, pn := range numbers {
		rows, err := db.SQL().QueryContext(ctx, "SELECT id, contact_wa_id FROM threads WHERE phone_number_id = ?", pn)
		if err != nil {
			return fmt.Errorf("read thread ids: %w", err)
		}
		for rows.Next() {
			var id uint64
			var waID string
			if err := rows.Scan(&id, &waID); err != nil {
				rows.Close()
				return fmt.Errorf("read thread ids: %w", err)
			}
			if i, ok := index[[2]string{pn, waID}]; ok {
				threads[i].ID = id
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read thread ids: %w", err)
		}
	}
	return nil
}

// InsertMessages inserts messages (ThreadID set) with multi-row INSERTs, RowsPerStatement rows
// per statement (SQLiteRowsPerStatement on SQLite) and RowsPerTransaction rows per
// transaction. Zero CreatedAt and UpdatedAt become the store's clock.
func InsertMessages(ctx context.Context, db *store.DB, msgs []models.Message) error {
	now := db.Now()
	err := insertRows(ctx, db, "messages", messageInsertColumns, len(msgs), func(i int) []any {
		m := msgs[i]
		created, updated := m.CreatedAt, m.UpdatedAt
		if created.IsZero() {
			created = now
		}
		if updated.IsZero() {
			updated = now
		}
		return []any{m.PhoneNumberID, m.WAMID, m.ThreadID, m.ContactWAID, m.Direction, m.Type, m.Text, m.TS,
			m.Status, m.Origin, m.Edited, m.Deleted, m.MediaID, m.MimeType, m.ReactionTo, m.Phase, m.ChunkOrder,
			m.Position, m.Raw, created, updated}
	})
	if err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	return nil
}

// insertRows inserts n rows into table in multi-row statements and transactions.
func insertRows(ctx context.Context, db *store.DB, table string, columns []string, n int, args func(i int) []any) error {
	rowMarks := "(" + strings.TrimSuffix(strings.Repeat("?,", len(columns)), ",") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	perStmt := RowsPerStatement
	if db.Dialect() == store.SQLite {
		perStmt = SQLiteRowsPerStatement
	}
	for txStart := 0; txStart < n; txStart += RowsPerTransaction {
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		txEnd := min(txStart+RowsPerTransaction, n)
		for start := txStart; start < txEnd; start += perStmt {
			end := min(start+perStmt, txEnd)
			var b strings.Builder
			b.WriteString(head)
			vals := make([]any, 0, (end-start)*len(columns))
			for i := start; i < end; i++ {
				if i > start {
					b.WriteByte(',')
				}
				b.WriteString(rowMarks)
				vals = append(vals, args(i)...)
			}
			if _, err := tx.ExecContext(ctx, b.String(), vals...); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("rows %d-%d: %w", start, end, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	return nil
}
