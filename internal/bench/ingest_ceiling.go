package bench

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
)

// ceilingTable is the scratch copy of messages the raw ceiling writes into.
const ceilingTable = "bench_ingest_ceiling"

// The ingest's statement shape (internal/store: ApplyChunk → upsertMessages): 1,000 rows
// per statement on MySQL/MariaDB; on SQLite as many rows as fit in 400 arguments; one
// transaction per chunk.
const (
	ingestMySQLRowsPerStatement = 1000
	ingestSQLiteArgs            = 400
)

// ceilingColumns and ceilingUpdated are the columns the ingest's message upsert writes and
// the ones it overwrites on a duplicate key.
var (
	ceilingColumns = []string{"phone_number_id", "wamid", "thread_id", "contact_wa_id", "direction", "type", "text", "ts",
		"status", "origin", "edited", "deleted", "media_id", "mime_type", "reaction_to", "phase", "chunk_order", "position",
		"raw", "created_at", "updated_at"}
	ceilingUpdated = []string{"thread_id", "contact_wa_id", "direction", "type", "text", "ts", "status", "origin",
		"edited", "deleted", "media_id", "mime_type", "reaction_to", "phase", "chunk_order", "position", "raw", "updated_at"}
)

// ceilingResult is the database's raw speed on the benchmark's rows.
type ceilingResult struct {
	rows         int
	perStatement int
	took         time.Duration // inside the transactions only: building the rows is not counted
}

// rawCeiling writes the messages of every spooled body, parsed as the ingest parses them,
// into a fresh scratch copy of the messages table (same indexes, full-text included) with
// the ingest's multi-row upsert, statement size and one transaction per chunk, and no
// other logic. The scratch table is dropped afterwards.
func rawCeiling(ctx context.Context, db *store.DB, sp *spool) (ceilingResult, error) {
	if err := createCeilingTable(ctx, db); err != nil {
		return ceilingResult{}, err
	}
	defer dropCeilingTable(context.WithoutCancel(ctx), db)

	res := ceilingResult{perStatement: ingestMySQLRowsPerStatement}
	if db.Dialect() == store.SQLite {
		res.perStatement = max(1, ingestSQLiteArgs/len(ceilingColumns))
	}
	statement := ceilingStatement(db.Dialect(), res.perStatement)
	threadIDs := map[string]int{}
	var buf []byte
	for i := range sp.bodies {
		body, err := sp.read(i, buf)
		if err != nil {
			return res, err
		}
		buf = body
		batch, err := coex.Parse(body)
		if err != nil {
			return res, fmt.Errorf("ceiling: parse body %d: %w", i, err)
		}
		for _, ch := range batch.Changes {
			for _, c := range ch.Chunks {
				args := ceilingArgs(ch.PhoneNumberID, c, threadIDs, db.Now())
				took, err := ceilingChunk(ctx, db, statement, args, res.perStatement)
				if err != nil {
					return res, fmt.Errorf("ceiling: chunk %d/%d: %w", c.Phase, c.ChunkOrder, err)
				}
				res.took += took
				res.rows += len(c.Messages)
			}
		}
	}
	return res, nil
}

// ceilingArgs are the statement arguments of a chunk's messages, row after row.
func ceilingArgs(pnid string, c coex.Chunk, threadIDs map[string]int, now time.Time) []any {
	args := make([]any, 0, len(c.Messages)*len(ceilingColumns))
	for _, m := range c.Messages {
		tid, ok := threadIDs[m.ContactWAID]
		if !ok {
			tid = len(threadIDs) + 1
			threadIDs[m.ContactWAID] = tid
		}
		args = append(args, pnid, m.WAMID, tid, m.ContactWAID, m.Direction, m.Type, m.Text, m.Timestamp,
			coex.NormalizeStatus(m.Status), m.Origin, false, false, m.MediaID, m.MimeType, m.ReactionTo,
			c.Phase, c.ChunkOrder, m.Position, string(m.Raw), now, now)
	}
	return args
}

// ceilingChunk runs one chunk's upserts in one transaction and returns how long it took.
func ceilingChunk(ctx context.Context, db *store.DB, statement func(rows int) string, args []any, perStatement int) (time.Duration, error) {
	cols := len(ceilingColumns)
	rows := len(args) / cols
	start := time.Now()
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// Like the ingest on SQLite: the full-size statement is prepared once per chunk.
	var full *sql.Stmt
	for lo := 0; lo < rows; lo += perStatement {
		hi := min(lo+perStatement, rows)
		part := args[lo*cols : hi*cols]
		if db.Dialect() == store.SQLite && hi-lo == perStatement && rows > perStatement {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, statement(perStatement)); err != nil {
					return 0, err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, part...)
		} else {
			_, err = tx.ExecContext(ctx, statement(hi-lo), part...)
		}
		if err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return time.Since(start), nil
}

// ceilingStatement returns the upsert of n rows into the scratch table.
func ceilingStatement(dialect string, perStatement int) func(n int) string {
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ceilingColumns)), ", ") + ")"
	var suffix strings.Builder
	if dialect == store.MySQL {
		suffix.WriteString(" ON DUPLICATE KEY UPDATE ")
		for i, c := range ceilingUpdated {
			if i > 0 {
				suffix.WriteString(", ")
			}
			suffix.WriteString(c + " = VALUES(" + c + ")")
		}
	} else {
		suffix.WriteString(" ON CONFLICT (phone_number_id, wamid) DO UPDATE SET ")
		for i, c := range ceilingUpdated {
			if i > 0 {
				suffix.WriteString(", ")
			}
			suffix.WriteString(c + " = excluded." + c)
		}
	}
	head := "INSERT INTO " + ceilingTable + " (" + strings.Join(ceilingColumns, ", ") + ") VALUES "
	cache := map[int]string{}
	return func(n int) string {
		if s, ok := cache[n]; ok {
			return s
		}
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
		if n == perStatement {
			cache[n] = b.String()
		}
		return b.String()
	}
}

// createCeilingTable creates the scratch table as a copy of messages with all its indexes:
// on MySQL/MariaDB with CREATE TABLE … LIKE; on SQLite from the schema of messages, its
// indexes, its full-text table and the triggers that keep that one up to date.
func createCeilingTable(ctx context.Context, db *store.DB) error {
	dropCeilingTable(ctx, db)
	if db.Dialect() == store.MySQL {
		if _, err := db.SQL().ExecContext(ctx, "CREATE TABLE "+ceilingTable+" LIKE messages"); err != nil {
			return fmt.Errorf("ceiling: create scratch table: %w", err)
		}
		return nil
	}
	rows, err := db.SQL().QueryContext(ctx,
		"SELECT type, sql FROM sqlite_master WHERE (tbl_name = 'messages' OR name = 'messages_fts') AND sql IS NOT NULL")
	if err != nil {
		return fmt.Errorf("ceiling: read the messages schema: %w", err)
	}
	rank := map[string]int{"table": 0, "index": 1, "trigger": 2}
	type object struct {
		kind, sql string
	}
	var objects []object
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.kind, &o.sql); err != nil {
			rows.Close()
			return fmt.Errorf("ceiling: read the messages schema: %w", err)
		}
		objects = append(objects, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ceiling: read the messages schema: %w", err)
	}
	slices.SortStableFunc(objects, func(a, b object) int { return rank[a.kind] - rank[b.kind] })
	for _, o := range objects {
		// Every name in these statements that mentions messages is one of its objects.
		q := strings.ReplaceAll(o.sql, "messages", ceilingTable)
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("ceiling: create scratch %s: %w", o.kind, err)
		}
	}
	return nil
}

func dropCeilingTable(ctx context.Context, db *store.DB) {
	if db.Dialect() == store.SQLite {
		_, _ = db.SQL().ExecContext(ctx, "DROP TABLE IF EXISTS "+ceilingTable+"_fts")
	}
	_, _ = db.SQL().ExecContext(ctx, "DROP TABLE IF EXISTS "+ceilingTable)
}
