// Package storetest gives tests a fresh, migrated database of each dialect: a temporary
// SQLite file, and a private database on the MySQL/MariaDB server named by
// COEX_TEST_MYSQL_URL (e.g. mysql://coex:coex@127.0.0.1:3307/). When that variable is unset
// MySQL tests are skipped with a visible message, unless COEX_TEST_REQUIRE_MYSQL=1, in which
// case they fail: the project's test command always provides a server.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // admin connection to create/drop test databases

	"coexhistory/internal/store"
)

// Dialects lists the dialects every store test runs against.
var Dialects = []string{store.SQLite, store.MySQL}

// Each runs fn once per dialect as a subtest, with a fresh migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh, migrated database of the dialect, dropped when the test ends.
func Open(t testing.TB, dialect string) *store.DB {
	t.Helper()
	db := OpenEmpty(t, dialect)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return db
}

// OpenEmpty is Open without migrations.
func OpenEmpty(t testing.TB, dialect string) *store.DB {
	t.Helper()
	u := URL(t, dialect)
	db, err := store.Open(context.Background(), u, store.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// URL creates an empty database of the dialect and returns its COEX_DATABASE_URL; the
// database is removed when the test ends.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case store.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	case store.MySQL:
		return mysqlDatabase(t)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

// MySQLServer returns COEX_TEST_MYSQL_URL, skipping (or failing, when required) without it.
func MySQLServer(t testing.TB) string {
	t.Helper()
	server := os.Getenv("COEX_TEST_MYSQL_URL")
	if server == "" {
		if os.Getenv("COEX_TEST_REQUIRE_MYSQL") == "1" {
			t.Fatal("COEX_TEST_REQUIRE_MYSQL=1 but COEX_TEST_MYSQL_URL is not set")
		}
		t.Skip("MySQL/MariaDB tests skipped: set COEX_TEST_MYSQL_URL=mysql://user:pass@host:port/ (make test does this)")
	}
	return server
}

func mysqlDatabase(t testing.TB) string {
	t.Helper()
	server := MySQLServer(t)
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("COEX_TEST_MYSQL_URL: %v", err)
	}
	pass, _ := u.User.Password()
	admin, err := sql.Open("mysql", u.User.Username()+":"+pass+"@tcp("+u.Host+")/?timeout=5s")
	if err != nil {
		t.Fatalf("connect to test MySQL: %v", err)
	}
	defer admin.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("mysql", u.User.Username()+":"+pass+"@tcp("+u.Host+")/?timeout=5s")
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP DATABASE IF EXISTS " + name)
	})
	u.Path = "/" + name
	return strings.TrimRight(u.String(), "?")
}
