package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
)

// SQL plumbing shared by the store's hand-written statements: the ingest transaction and its
// retries, raw statements on the current connection or transaction, placeholders and statement sizes.

// Statement sizes. MySQL takes 1,000 rows or keys per statement. The SQLite driver binds
// arguments in time quadratic in their number, so SQLite statements stay small; SQLite has
// no network round trip, so many small statements cost little.
const (
	mysqlRowsPerStatement  = 1000
	sqliteArgsPerStatement = 400
	sqliteKeysPerStatement = 250
)

// rowsPerStatement is how many rows of cols columns one multi-row statement writes.
func (db *DB) rowsPerStatement(cols int) int {
	if db.dialect == MySQL {
		return mysqlRowsPerStatement
	}
	return max(1, sqliteArgsPerStatement/cols)
}

// keysPerStatement is how many keys one IN list holds.
func (db *DB) keysPerStatement() int {
	if db.dialect == MySQL {
		return mysqlRowsPerStatement
	}
	return sqliteKeysPerStatement
}

// applyTx runs fn in one transaction for applying webhooks: READ COMMITTED on MySQL, so
// reads after a lock see the latest committed rows; retried with a jittered back-off on
// deadlocks, Galera certification conflicts, lock waits, a node out of the primary
// component and lost connections (retry.go).
func (db *DB) applyTx(ctx context.Context, fn func(tx *DB) error) error {
	var opts []*sql.TxOptions
	if db.dialect == MySQL {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	}
	err := db.retry.doN(ctx, applyTxAttempts, "apply transaction", retryableTx, func() error {
		return db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
			return fn(&DB{gorm: g, dialect: db.dialect, now: db.now, pace: db.pace, retry: db.retry, failover: db.failover})
		}, opts...)
	})
	return translate(err)
}

// retryableTx reports whether a transaction failed only because of a concurrent one or a
// passing condition of the server (Transient), or SQLite's writer lock.
func retryableTx(err error) bool {
	if Transient(err) || errors.Is(err, errConcurrentInsert) {
		return true
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

// rawExec runs a statement on the connection or transaction of db, bypassing GORM's statement
// builder (bulk statements carry tens of thousands of arguments).
func (db *DB) rawExec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := db.gorm.Statement.ConnPool.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// rawQuery runs a query on the connection or transaction of db and calls each for every row.
func (db *DB) rawQuery(ctx context.Context, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := db.gorm.Statement.ConnPool.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func sqlPlaceholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func sqlStringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func sqlUint64Args(ids []uint64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
