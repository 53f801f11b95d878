package handlers_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/server"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// readOnlyMySQL returns the database of url opened as a new user that may only read it:
// every write fails as on a server set read-only, without changing the shared test server
// (SET GLOBAL read_only would stop every other test's writes). When the test server's user
// may not grant (an external server), every session is opened read-only instead.
func readOnlyMySQL(t *testing.T, dbURL string) *store.DB {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	pass, _ := u.User.Password()
	admin, err := sql.Open("mysql", u.User.Username()+":"+pass+"@tcp("+u.Host+")/?timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	user := "ro_" + name[len(name)-12:]
	if _, err := admin.Exec("CREATE USER '" + user + "'@'%' IDENTIFIED BY 'readonly'"); err != nil {
		t.Fatal(err)
	}
	// COEX_TEST_READONLY_SESSIONS=1 takes the fallback even where granting works.
	granted := os.Getenv("COEX_TEST_READONLY_SESSIONS") != "1"
	if granted {
		if _, err := admin.Exec("GRANT SELECT ON " + name + ".* TO '" + user + "'@'%'"); err != nil {
			t.Logf("cannot grant (%v): opening read-only sessions instead", err)
			granted = false
		}
	}
	t.Cleanup(func() {
		if a, err := sql.Open("mysql", u.User.Username()+":"+pass+"@tcp("+u.Host+")/?timeout=5s"); err == nil {
			_, _ = a.Exec("DROP USER '" + user + "'@'%'")
			a.Close()
		}
	})
	if granted {
		u.User = url.UserPassword(user, "readonly")
	} else {
		u.RawQuery = "tx_read_only=1" // MariaDB's name; MySQL 8 calls it transaction_read_only
	}
	ro, err := store.Open(context.Background(), u.String(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	return ro
}

// /readyz fails when the database can be read but cannot take a write.
func TestReadyzFailsWhenTheDatabaseCannotTakeAWrite(t *testing.T) {
	t.Run("mysql", func(t *testing.T) {
		storetest.MySQLServer(t)
		var ro *store.DB
		app := apptest.New(t, store.MySQL, apptest.Options{Setup: func(s *server.Services) {
			ro = readOnlyMySQL(t, dbURLOf(t, s.DB))
			s.DB = ro
		}})
		checkReadyz(t, app, http.StatusServiceUnavailable, "cannot take a write")
		// The same database through a user that may write is ready.
		if err := app.DB.CheckWrite(context.Background(), "other"); err != nil {
			t.Fatal(err)
		}
		if err := ro.CheckWrite(context.Background(), "other"); err == nil {
			t.Fatal("the read-only user could write")
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		app := apptest.New(t, store.SQLite, apptest.Options{})
		checkReadyz(t, app, http.StatusOK, "ready")
		// One connection, switched to query-only: every write fails.
		app.DB.SQL().SetMaxOpenConns(1)
		if _, err := app.DB.SQL().Exec("PRAGMA query_only = ON"); err != nil {
			t.Fatal(err)
		}
		checkReadyz(t, app, http.StatusServiceUnavailable, "cannot take a write")
		if _, err := app.DB.SQL().Exec("PRAGMA query_only = OFF"); err != nil {
			t.Fatal(err)
		}
		checkReadyz(t, app, http.StatusOK, "ready")
	})
}

func checkReadyz(t *testing.T, app *apptest.App, status int, want string) {
	t.Helper()
	res, body := app.Anonymous().Get("/readyz", nil)
	if res.StatusCode != status || !strings.Contains(body, want) {
		t.Fatalf("/readyz = %d %s; want %d %q", res.StatusCode, body, status, want)
	}
}

// dbURLOf finds the URL of a test database: storetest names MySQL databases test_<hex>.
func dbURLOf(t *testing.T, db *store.DB) string {
	t.Helper()
	var name string
	if err := db.SQL().QueryRow("SELECT DATABASE()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(os.Getenv("COEX_TEST_MYSQL_URL"))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
