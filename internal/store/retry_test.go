package store_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

func TestTransientErrorClassification(t *testing.T) {
	my := func(n uint16) error { return &gomysql.MySQLError{Number: n, Message: "m"} }
	for _, c := range []struct {
		name      string
		err       error
		code      int
		transient bool
		conflict  bool
	}{
		{"deadlock or certification conflict", my(1213), 1213, true, true},
		{"lock wait timeout", my(1205), 1205, true, false},
		{"node not prepared", my(1047), 1047, true, false},
		{"no primary component at commit", my(1180), 1180, true, false},
		{"wrapped inside a transaction", fmt.Errorf("apply chunk: insert messages: %w", my(1180)), 1180, true, false},
		{"joined with a rollback error", errors.Join(my(1047), errors.New("rollback failed")), 1047, true, false},
		{"server shutdown", my(1053), 1053, true, false},
		{"duplicate key", my(1062), 1062, false, false},
		{"syntax error", my(1064), 1064, false, false},
		{"read-only", my(1290), 1290, false, false},
		{"invalid connection", gomysql.ErrInvalidConn, -1, true, false},
		{"bad connection", fmt.Errorf("x: %w", driver.ErrBadConn), -1, true, false},
		{"unexpected EOF", io.ErrUnexpectedEOF, -1, true, false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, -1, true, false},
		{"canceled", context.Canceled, 0, false, false},
		{"deadline", fmt.Errorf("q: %w", context.DeadlineExceeded), 0, false, false},
		{"other", errors.New("boom"), 0, false, false},
		{"nil", nil, 0, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := store.ErrorCode(c.err); got != c.code {
				t.Errorf("ErrorCode = %d, want %d", got, c.code)
			}
			if got := store.Transient(c.err); got != c.transient {
				t.Errorf("Transient = %v, want %v", got, c.transient)
			}
			if got := store.Conflict(c.err); got != c.conflict {
				t.Errorf("Conflict = %v, want %v", got, c.conflict)
			}
		})
	}
	if d := store.DescribeError(my(1047)); !strings.Contains(d, "1047") || !strings.Contains(d, "not prepared") {
		t.Errorf("DescribeError(1047) = %q", d)
	}
	if d := store.DescribeError(my(1180)); !strings.Contains(d, "1180") || !strings.Contains(d, "primary") {
		t.Errorf("DescribeError(1180) = %q", d)
	}
}

// A deadlock provoked with two transactions on MariaDB is retried: the loser runs again after
// the winner commits and succeeds; the conflict is counted and reported once.
func TestRetryAfterADeadlock(t *testing.T) {
	storetest.MySQLServer(t)
	db := storetest.Open(t, store.MySQL)
	ctx := context.Background()
	raw := db.SQL()
	for _, q := range []string{
		"CREATE TABLE retry_pair (id INT PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO retry_pair VALUES (1, 0), (2, 0)",
		"CREATE TABLE retry_weight (id INT PRIMARY KEY)",
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var hooked atomic.Int64
	db.OnConflict(func() { hooked.Add(1) })

	// The winner: locks row 1 and writes many rows, so that the deadlock detector rolls the
	// other (lighter) transaction back.
	winner, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := winner.Exec("UPDATE retry_pair SET v = v + 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := winner.Exec("INSERT INTO retry_weight VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	winnerDone := make(chan error, 1)
	attempts := 0
	err = db.RetryForTest(ctx, "test deadlock", func() error {
		attempts++
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.Exec("UPDATE retry_pair SET v = v + 10 WHERE id = 2"); err != nil {
			return err
		}
		if attempts == 1 {
			// The winner now waits for row 2, which this transaction holds ...
			go func() {
				_, err := winner.Exec("UPDATE retry_pair SET v = v + 1 WHERE id = 2")
				if err == nil {
					err = winner.Commit()
				}
				winnerDone <- err
			}()
			time.Sleep(300 * time.Millisecond)
		}
		// ... and this one waits for row 1, which the winner holds: a deadlock.
		if _, err := tx.Exec("UPDATE retry_pair SET v = v + 10 WHERE id = 1"); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		t.Fatalf("retried transaction: %v", err)
	}
	if err := <-winnerDone; err != nil {
		t.Fatalf("winner: %v", err)
	}
	if attempts != 2 {
		t.Fatalf("attempts = %d, want 2 (one deadlock, then success)", attempts)
	}
	var v1, v2 int
	if err := raw.QueryRow("SELECT (SELECT v FROM retry_pair WHERE id = 1), (SELECT v FROM retry_pair WHERE id = 2)").Scan(&v1, &v2); err != nil {
		t.Fatal(err)
	}
	if v1 != 11 || v2 != 11 {
		t.Fatalf("rows = %d, %d; want 11, 11 (both transactions applied once)", v1, v2)
	}
	if s := db.RetryStats(); s.Conflicts != 1 || s.Exhausted != 0 || hooked.Load() != 1 {
		t.Fatalf("stats = %+v, hook = %d; want one conflict", s, hooked.Load())
	}
}

// A single-row update of an inbox row (done, handed back, failed) that waits for a lock
// past the lock wait timeout (1205) is retried instead of leaving the row to its lease.
func TestSingleRowInboxUpdatesRetryALockWait(t *testing.T) {
	storetest.MySQLServer(t)
	base := storetest.URL(t, store.MySQL)
	ctx := context.Background()
	db, err := store.Open(ctx, base+"?innodb_lock_wait_timeout=1", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"complete", "retry", "fail"} {
		t.Run(op, func(t *testing.T) {
			id, _, err := db.InsertInbox(ctx, "meta", []byte(`{"op":"`+op+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			items, err := db.ClaimInbox(ctx, "w1", time.Minute, 10)
			if err != nil || len(items) != 1 || items[0].ID != id {
				t.Fatalf("claim = %v, %v", items, err)
			}
			before := db.RetryStats()
			// Another session holds the row's lock for 1.6 s: the update's first try times out.
			locker, err := db.SQL().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := locker.Exec("SELECT id FROM webhook_inbox WHERE id = ? FOR UPDATE", id); err != nil {
				t.Fatal(err)
			}
			go func() { time.Sleep(1600 * time.Millisecond); _ = locker.Rollback() }()
			switch op {
			case "complete":
				err = db.CompleteInbox(ctx, id, "w1", "history", "pn", "")
			case "retry":
				err = db.RetryInbox(ctx, id, "w1", "busy", time.Hour)
			case "fail":
				err = db.FailInbox(ctx, id, "w1", "bad")
			}
			if err != nil {
				t.Fatalf("%s inbox: %v", op, err)
			}
			if s := db.RetryStats(); s.Transient <= before.Transient {
				t.Fatalf("stats = %+v; want a retried lock wait", s)
			}
			it, err := db.GetInbox(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"complete": models.InboxDone, "retry": models.InboxProcessing, "fail": models.InboxFailed}[op]
			if it.State != want || it.LeaseOwner != "" {
				t.Fatalf("row = %s owner %q; want %s without owner", it.State, it.LeaseOwner, want)
			}
		})
	}
}
