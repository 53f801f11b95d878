package store

import (
	"context"
	"fmt"
	"strings"

	"coexhistory/models"
)

// The shape of the messages table's bulk writes, for the ingest and for the tools and tests
// that measure or load it: the columns, the statement sizes and the upsert itself.

// MessageColumns are the columns the ingest's message upsert writes, in the order of its
// arguments.
var MessageColumns = []string{"phone_number_id", "wamid", "thread_id", "contact_wa_id", "direction", "type", "text", "ts",
	"status", "origin", "edited", "deleted", "media_id", "mime_type", "reaction_to", "phase", "chunk_order", "position",
	"raw", "created_at", "updated_at"}

// MessageUpdatedColumns are the columns an upsert of a stored message overwrites (with the
// merged values computed under the locks).
var MessageUpdatedColumns = []string{"thread_id", "contact_wa_id", "direction", "type", "text", "ts", "status", "origin",
	"edited", "deleted", "media_id", "mime_type", "reaction_to", "phase", "chunk_order", "position", "raw", "updated_at"}

var messageColumnList = strings.Join(MessageColumns, ", ")

// RowsPerStatement is how many rows of cols columns one multi-row statement of the store
// writes on db (see the statement sizes in sql.go).
func (db *DB) RowsPerStatement(cols int) int { return db.rowsPerStatement(cols) }

// MessageUpsert returns the ingest's multi-row upsert of n rows of MessageColumns into table
// (messages, or a scratch copy of it), keyed by (phone_number_id, wamid), for the dialect.
func MessageUpsert(dialect, table string) func(n int) string {
	tuple := "(" + sqlPlaceholders(len(MessageColumns)) + ")"
	var suffix strings.Builder
	if dialect == MySQL {
		suffix.WriteString(" ON DUPLICATE KEY UPDATE ")
		for i, c := range MessageUpdatedColumns {
			if i > 0 {
				suffix.WriteString(", ")
			}
			suffix.WriteString(c + " = VALUES(" + c + ")")
		}
	} else {
		suffix.WriteString(" ON CONFLICT (phone_number_id, wamid) DO UPDATE SET ")
		for i, c := range MessageUpdatedColumns {
			if i > 0 {
				suffix.WriteString(", ")
			}
			suffix.WriteString(c + " = excluded." + c)
		}
	}
	head := "INSERT INTO " + table + " (" + messageColumnList + ") VALUES "
	return func(n int) string {
		var b strings.Builder
		b.Grow(len(head) + n*(len(tuple)+2) + suffix.Len())
		b.WriteString(head)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
		}
		b.WriteString(suffix.String())
		return b.String()
	}
}

// BulkRowsPerTransaction is how many rows BulkInsertThreads and BulkInsertMessages write per
// transaction.
const BulkRowsPerTransaction = 10000

var threadInsertColumns = []string{"phone_number_id", "contact_wa_id", "contact_name", "message_count",
	"first_message_at", "last_message_at"}

// BulkInsertThreads inserts threads with multi-row INSERTs and sets each one's ID. The
// (phone_number_id, contact_wa_id) pairs must be new. It loads generated data (benchmarks,
// tests); the ingest never calls it.
func (db *DB) BulkInsertThreads(ctx context.Context, threads []models.Thread) error {
	err := db.bulkInsert(ctx, "threads", threadInsertColumns, len(threads), func(i int) []any {
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

// BulkInsertMessages inserts messages (ThreadID set) with multi-row INSERTs of
// RowsPerStatement rows and BulkRowsPerTransaction rows per transaction. Zero CreatedAt and
// UpdatedAt become the store's clock. It loads generated data; the ingest never calls it.
func (db *DB) BulkInsertMessages(ctx context.Context, msgs []models.Message) error {
	now := db.Now()
	err := db.bulkInsert(ctx, "messages", MessageColumns, len(msgs), func(i int) []any {
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

// bulkInsert inserts n rows into table in multi-row statements and transactions.
func (db *DB) bulkInsert(ctx context.Context, table string, columns []string, n int, args func(i int) []any) error {
	rowMarks := "(" + sqlPlaceholders(len(columns)) + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	perStmt := db.rowsPerStatement(len(columns))
	for txStart := 0; txStart < n; txStart += BulkRowsPerTransaction {
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		txEnd := min(txStart+BulkRowsPerTransaction, n)
		for start := txStart; start < txEnd; start += perStmt {
			end := min(start+perStmt, txEnd)
			var b strings.Builder
			b.WriteString(head)
			vals := make([]any, 0, (end-start)*len(columns))
			for i := start; i < end; i++ {
				if i > start {
					b.WriteString(", ")
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
