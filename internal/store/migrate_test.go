package store_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// schema is tables → columns and indexes, in a dialect-neutral shape.
type schema map[string]*tableShape

type tableShape struct {
	Columns []string
	Indexes []string // "name(col,col)" with "unique " prefix when unique
}

func TestMigrationsApplyFromEmptyInBothDialects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after migrate: %v", err)
		}
		st, err := db.MigrationStatuses(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 0 {
			t.Fatal("no migrations found")
		}
		for _, s := range st {
			if !s.Applied {
				t.Errorf("migration %s not applied", s.Name)
			}
		}
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, err %v; want nothing", again, err)
		}
	})
}

func TestCheckSchemaRefusesEmptyDatabase(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			db := storetest.OpenEmpty(t, d)
			err := db.CheckSchema(context.Background())
			var outdated *store.ErrSchemaOutdated
			if !errors.As(err, &outdated) {
				t.Fatalf("CheckSchema on empty database = %v, want ErrSchemaOutdated", err)
			}
			if outdated.Current != 0 || outdated.Latest < 1 {
				t.Fatalf("outdated = %+v", outdated)
			}
			if !strings.Contains(err.Error(), "migrate up") {
				t.Fatalf("message %q does not say what to do", err)
			}
		})
	}
}

func TestDialectsHaveTheSameSchema(t *testing.T) {
	lite := readSchema(t, storetest.Open(t, store.SQLite))
	my := readSchema(t, storetest.Open(t, store.MySQL))
	if len(lite) < 10 {
		t.Fatalf("only %d tables in SQLite", len(lite))
	}
	for name, l := range lite {
		m, ok := my[name]
		if !ok {
			t.Errorf("table %s missing in MySQL", name)
			continue
		}
		if strings.Join(l.Columns, ",") != strings.Join(m.Columns, ",") {
			t.Errorf("table %s columns differ:\n sqlite %v\n mysql  %v", name, l.Columns, m.Columns)
		}
		if strings.Join(l.Indexes, ";") != strings.Join(m.Indexes, ";") {
			t.Errorf("table %s indexes differ:\n sqlite %v\n mysql  %v", name, l.Indexes, m.Indexes)
		}
	}
	for name := range my {
		if _, ok := lite[name]; !ok {
			t.Errorf("table %s missing in SQLite", name)
		}
	}
	// Full-text search has a dialect-specific shape: FULLTEXT index vs FTS5 table.
	if !hasFullText(t, storetest.Open(t, store.MySQL)) {
		t.Error("MySQL messages table has no FULLTEXT index")
	}
}

func readSchema(t *testing.T, db *store.DB) schema {
	t.Helper()
	ctx := context.Background()
	out := schema{}
	var tables []string
	switch db.Dialect() {
	case store.SQLite:
		tables = queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type='table'
			AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'messages_fts%' AND name <> 'goose_db_version'`)
	case store.MySQL:
		tables = queryStrings(t, db, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = DATABASE() AND table_name <> 'goose_db_version'`)
	}
	for _, tbl := range tables {
		shape := &tableShape{}
		switch db.Dialect() {
		case store.SQLite:
			shape.Columns = queryStrings(t, db, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, tbl)
			rows, err := db.SQL().QueryContext(ctx, `SELECT il.name, il."unique", il.origin FROM pragma_index_list(?) il`, tbl)
			if err != nil {
				t.Fatal(err)
			}
			type idx struct {
				name   string
				unique bool
			}
			var idxs []idx
			for rows.Next() {
				var name, origin string
				var unique bool
				if err := rows.Scan(&name, &unique, &origin); err != nil {
					t.Fatal(err)
				}
				if origin == "pk" {
					continue
				}
				idxs = append(idxs, idx{name, unique})
			}
			rows.Close()
			for _, ix := range idxs {
				cols := queryStrings(t, db, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, ix.name)
				shape.Indexes = append(shape.Indexes, indexString(ix.name, ix.unique, cols))
			}
		case store.MySQL:
			shape.Columns = queryStrings(t, db, `SELECT column_name FROM information_schema.columns
				WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`, tbl)
			names := queryStrings(t, db, `SELECT DISTINCT index_name FROM information_schema.statistics
				WHERE table_schema = DATABASE() AND table_name = ? AND index_name <> 'PRIMARY' AND index_type <> 'FULLTEXT'`, tbl)
			for _, n := range names {
				cols := queryStrings(t, db, `SELECT column_name FROM information_schema.statistics
					WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ? ORDER BY seq_in_index`, tbl, n)
				var nonUnique int
				if err := db.SQL().QueryRowContext(ctx, `SELECT MAX(non_unique) FROM information_schema.statistics
					WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?`, tbl, n).Scan(&nonUnique); err != nil {
					t.Fatal(err)
				}
				shape.Indexes = append(shape.Indexes, indexString(n, nonUnique == 0, cols))
			}
		}
		for i := range shape.Columns {
			shape.Columns[i] = strings.ToLower(shape.Columns[i])
		}
		sort.Strings(shape.Indexes)
		out[strings.ToLower(tbl)] = shape
	}
	return out
}

func indexString(name string, unique bool, cols []string) string {
	s := strings.ToLower(name) + "(" + strings.ToLower(strings.Join(cols, ",")) + ")"
	if unique {
		s = "unique " + s
	}
	return s
}

func hasFullText(t *testing.T, db *store.DB) bool {
	n := queryStrings(t, db, `SELECT DISTINCT index_name FROM information_schema.statistics
		WHERE table_schema = DATABASE() AND table_name = 'messages' AND index_type = 'FULLTEXT'`)
	return len(n) == 1
}

func queryStrings(t *testing.T, db *store.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
