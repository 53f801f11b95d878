package bench

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
)

// The raw ceiling measures the database itself, so it is the one place outside the store
// that writes SQL on the store's connection (DB.SQL): a scratch table of its own, filled with
// the store's statement (store.MessageUpsert, store.MessageColumns, the store's statement
// size), and nothing else of the ingest.

// ceilingTable is the scratch copy of messages the raw ceiling writes into.
const ceilingTable = "bench_ingest_ceiling"

// ceilingColumns are the columns the ingest's message upsert writes (store.MessageColumns).
var ceilingColumns = store.MessageColumns

// ceilingResult is the database's raw speed on the benchmark's rows.
type ceilingResult struct {
	rows         int
	perStatement int
	connections  int
	took         time.Duration // first transaction begun → last one committed
}

// rawCeiling writes the messages of every spooled body, parsed as the ingest parses them,
// into a fresh scratch copy of the messages table (same indexes, full-text included) with
// the ingest's multi-row upsert, statement size and one transaction per chunk, on as many
// connections as the server has ingest workers, and no other logic. The bodies are parsed
// into a compact rows file first, so that only the database's work is timed. The scratch
// table is dropped afterwards.
func rawCeiling(ctx context.Context, db *store.DB, sp *spool, connections int) (ceilingResult, error) {
	// The ingest's statement shape: the store's statement size, one transaction per chunk.
	res := ceilingResult{perStatement: db.RowsPerStatement(len(ceilingColumns)), connections: max(1, connections)}
	if db.Dialect() == store.SQLite {
		res.connections = 1 // one writer
	}
	rows, err := writeCeilingRows(sp)
	if err != nil {
		return res, err
	}
	defer rows.Close()
	if err := createCeilingTable(ctx, db); err != nil {
		return res, err
	}
	defer dropCeilingTable(context.WithoutCancel(ctx), db)

	statement := ceilingStatement(db.Dialect(), res.perStatement)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan []any, 2*res.connections)
	errs := make(chan error, res.connections+1)
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		defer close(chunks)
		now := db.Now()
		if err := rows.each(func(args []any) bool {
			for i := len(ceilingColumns) - 2; i < len(args); i += len(ceilingColumns) {
				args[i], args[i+1] = now, now
			}
			select {
			case chunks <- args:
				return true
			case <-ctx.Done():
				return false
			}
		}); err != nil {
			errs <- err
		}
	})
	for range res.connections {
		wg.Go(func() {
			for args := range chunks {
				if err := ceilingChunk(ctx, db, statement, args, res.perStatement); err != nil {
					errs <- fmt.Errorf("ceiling: %w", err)
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	res.took = time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	res.rows = rows.rows
	return res, ctx.Err()
}

// ceilingRows holds the statement arguments of every chunk in a temporary file, chunk after
// chunk, strings length-prefixed: far smaller than the arguments themselves, and cheap to
// read back.
type ceilingRows struct {
	f    *os.File
	rows int
}

// writeCeilingRows parses every spooled body and writes its chunks' rows.
func writeCeilingRows(sp *spool) (*ceilingRows, error) {
	f, err := os.CreateTemp(filepath.Dir(sp.f.Name()), "coexhistory-bench-ceiling-*.rows")
	if err != nil {
		return nil, fmt.Errorf("ceiling rows: %w", err)
	}
	cr := &ceilingRows{f: f}
	w := bufio.NewWriterSize(f, 1<<20)
	threadIDs := map[string]int64{}
	var buf, rec []byte
	for i := range sp.bodies {
		body, err := sp.read(i, buf)
		if err != nil {
			cr.Close()
			return nil, err
		}
		buf = body
		batch, err := coex.Parse(body)
		if err != nil {
			cr.Close()
			return nil, fmt.Errorf("ceiling: parse body %d: %w", i, err)
		}
		for _, ch := range batch.Changes {
			for _, c := range ch.Chunks {
				rec = binary.AppendUvarint(rec[:0], uint64(len(c.Messages)))
				for _, m := range c.Messages {
					tid, ok := threadIDs[m.ContactWAID]
					if !ok {
						tid = int64(len(threadIDs) + 1)
						threadIDs[m.ContactWAID] = tid
					}
					for _, s := range []string{ch.PhoneNumberID, m.WAMID, m.ContactWAID, m.Direction, m.Type, m.Text,
						coex.NormalizeStatus(m.Status), m.Origin, m.MediaID, m.MimeType, m.ReactionTo, string(m.Raw)} {
						rec = binary.AppendUvarint(rec, uint64(len(s)))
						rec = append(rec, s...)
					}
					for _, n := range []int64{tid, m.Timestamp, int64(c.Phase), int64(c.ChunkOrder), int64(m.Position)} {
						rec = binary.AppendVarint(rec, n)
					}
				}
				cr.rows += len(c.Messages)
				if _, err := w.Write(rec); err != nil {
					cr.Close()
					return nil, fmt.Errorf("ceiling rows: %w", err)
				}
			}
		}
	}
	if err := w.Flush(); err != nil {
		cr.Close()
		return nil, fmt.Errorf("ceiling rows: %w", err)
	}
	return cr, nil
}

// each reads the chunks back as statement arguments (created_at and updated_at left nil)
// until fn returns false.
func (cr *ceilingRows) each(fn func(args []any) bool) error {
	if _, err := cr.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("ceiling rows: %w", err)
	}
	r := bufio.NewReaderSize(cr.f, 1<<20)
	var str []byte
	readString := func() (string, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		str = slices.Grow(str[:0], int(n))[:n]
		if _, err := io.ReadFull(r, str); err != nil {
			return "", err
		}
		return string(str), nil
	}
	for {
		n, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ceiling rows: %w", err)
		}
		args := make([]any, 0, int(n)*len(ceilingColumns))
		for range n {
			var s [12]string
			for i := range s {
				if s[i], err = readString(); err != nil {
					return fmt.Errorf("ceiling rows: %w", err)
				}
			}
			var v [5]int64
			for i := range v {
				if v[i], err = binary.ReadVarint(r); err != nil {
					return fmt.Errorf("ceiling rows: %w", err)
				}
			}
			// The order of ceilingColumns.
			args = append(args, s[0], s[1], v[0], s[2], s[3], s[4], s[5], v[1], s[6], s[7], false, false,
				s[8], s[9], s[10], v[2], v[3], v[4], s[11], nil, nil)
		}
		if !fn(args) {
			return nil
		}
	}
}

// Close removes the file.
func (cr *ceilingRows) Close() {
	_ = cr.f.Close()
	_ = os.Remove(cr.f.Name())
}

// ceilingChunk runs one chunk's upserts in one transaction.
func ceilingChunk(ctx context.Context, db *store.DB, statement func(rows int) string, args []any, perStatement int) error {
	cols := len(ceilingColumns)
	rows := len(args) / cols
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// Like the ingest: the full-size statement is prepared once per chunk.
	var full *sql.Stmt
	for lo := 0; lo < rows; lo += perStatement {
		hi := min(lo+perStatement, rows)
		part := args[lo*cols : hi*cols]
		if hi-lo == perStatement && rows > perStatement {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, statement(perStatement)); err != nil {
					return err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, part...)
		} else {
			_, err = tx.ExecContext(ctx, statement(hi-lo), part...)
		}
		if err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ceilingStatement returns the ingest's upsert of n rows (store.MessageUpsert) into the
// scratch table.
func ceilingStatement(dialect string, perStatement int) func(n int) string {
	build := store.MessageUpsert(dialect, ceilingTable)
	full := build(perStatement)
	return func(n int) string {
		if n == perStatement {
			return full
		}
		return build(n)
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
