package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// Retries of conflicts and transient server errors. On a Galera cluster every node takes
// writes, and a transaction that touched a row another node changed first fails at commit
// with a certification conflict (reported as 1213, like a deadlock); a node that lost the
// cluster's primary component answers 1047 (not prepared) or 1180 (error during COMMIT)
// until it is back. A single server has deadlocks (1213) and lock waits (1205) too, and any
// server can go away. All of these leave nothing half-done (the statement or transaction was
// rolled back), so the store tries again after a jittered back-off instead of failing the
// caller: every autocommit statement through the connection pool (retryPool) and every
// ingest transaction (applyTx).

// MySQL/MariaDB error numbers the store treats as transient.
const (
	ErrCodeDeadlock     = 1213 // deadlock, or a Galera certification conflict
	ErrCodeLockWait     = 1205 // lock wait timeout
	ErrCodeNotPrepared  = 1047 // WSREP has not yet prepared node for application use
	ErrCodeCommitFailed = 1180 // error during COMMIT (Galera: not connected to the primary component)
	ErrCodeShutdown     = 1053 // server shutdown in progress
	ErrCodeConnKilled   = 1927 // connection was killed
	ErrCodeIdleTimeout  = 4031 // disconnected by the server because of inactivity
	ErrCodeReadOnly     = 1290 // --read-only (a node being made a replica); not transient
	codeConnectionLost  = -1   // ErrorCode of a lost or refused connection (no server number)
	retryAttempts       = 10
	retryBaseWait       = 10 * time.Millisecond
	retryMaxWait        = time.Second
	// A chunk transaction writes thousands of rows and shares threads rows with the chunks
	// another node applies at the same time: it gets more tries (about 25 s of back-off)
	// before its inbox row is handed back.
	applyTxAttempts = 30
)

// ErrorCode returns the MySQL/MariaDB error number of err, -1 when err is a lost or refused
// connection, and 0 otherwise.
func ErrorCode(err error) int {
	if err == nil {
		return 0
	}
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		return int(me.Number)
	}
	if connectionLost(err) {
		return codeConnectionLost
	}
	return 0
}

// Transient reports whether err is a conflict or a passing server condition after which the
// same statement or transaction, run again, can succeed.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch ErrorCode(err) {
	case ErrCodeDeadlock, ErrCodeLockWait, ErrCodeNotPrepared, ErrCodeCommitFailed,
		ErrCodeShutdown, ErrCodeConnKilled, ErrCodeIdleTimeout, codeConnectionLost:
		return true
	}
	return false
}

// Conflict reports whether err is a deadlock or a Galera certification conflict.
func Conflict(err error) bool { return ErrorCode(err) == ErrCodeDeadlock }

// DescribeError names the database condition behind err for operators: "1047 node not
// prepared (…)", "1180 no primary component (…)", "connection lost (…)", or err itself.
func DescribeError(err error) string {
	if err == nil {
		return ""
	}
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		name := ""
		switch me.Number {
		case ErrCodeDeadlock:
			name = "deadlock or cluster certification conflict"
		case ErrCodeLockWait:
			name = "lock wait timeout"
		case ErrCodeNotPrepared:
			name = "node not prepared (not in the cluster's primary component)"
		case ErrCodeCommitFailed:
			name = "commit failed (no primary component)"
		case ErrCodeShutdown:
			name = "server shutting down"
		case ErrCodeReadOnly:
			name = "server is read-only"
		}
		if name == "" {
			return fmt.Sprintf("error %d: %s", me.Number, me.Message)
		}
		return fmt.Sprintf("error %d %s: %s", me.Number, name, me.Message)
	}
	if connectionLost(err) {
		return "connection lost or refused: " + err.Error()
	}
	return err.Error()
}

func connectionLost(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, gomysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, errNoHealthyHost) {
		return true
	}
	var ne *net.OpError
	return errors.As(err, &ne)
}

// RetryStats counts the store's retries since it was opened.
type RetryStats struct {
	Conflicts int64 // statements or transactions retried after a deadlock or certification conflict (1213)
	Transient int64 // retried after another transient error (1205, 1047, 1180, connection loss, …)
	Exhausted int64 // operations that still failed after every retry
}

// errNoHealthyHost is what a failover dialer returns when no configured host answers.
var errNoHealthyHost = errors.New("no database host answers")

// retrier retries operations that fail with a transient error; one per opened DB, shared
// by its copies (transactions, YieldingTo).
type retrier struct {
	log                             atomic.Pointer[slog.Logger]
	conflicts, transient, exhausted atomic.Int64
	onConflict                      atomic.Pointer[func()]
	attempts                        int
	base, maxWait                   time.Duration
}

func newRetrier() *retrier {
	return &retrier{attempts: retryAttempts, base: retryBaseWait, maxWait: retryMaxWait}
}

func (r *retrier) logger() *slog.Logger {
	if l := r.log.Load(); l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// wait is the back-off before retry number attempt (0-based): exponential from base up to
// maxWait, with full jitter between half and one and a half of it, so that two writers that
// conflicted do not meet again at the same moment.
func (r *retrier) wait(attempt int) time.Duration {
	d := r.base << min(attempt, 20)
	if d > r.maxWait || d <= 0 {
		d = r.maxWait
	}
	return d/2 + time.Duration(rand.Int64N(int64(d)+1))
}

// do runs fn until it succeeds, fails with an error that is not transient (retryable
// decides; nil: Transient), ctx ends, or the attempts are used up.
func (r *retrier) do(ctx context.Context, op string, retryable func(error) bool, fn func() error) error {
	return r.doN(ctx, r.attempts, op, retryable, fn)
}

// doN is do with its own number of attempts.
func (r *retrier) doN(ctx context.Context, attempts int, op string, retryable func(error) bool, fn func() error) error {
	if retryable == nil {
		retryable = Transient
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = fn()
		if err == nil {
			if attempt > 0 {
				r.logger().Debug("database operation succeeded after retries", "op", op, "retries", attempt)
			}
			return nil
		}
		if !retryable(err) {
			return err
		}
		code := ErrorCode(err)
		if code == ErrCodeDeadlock {
			r.conflicts.Add(1)
			if f := r.onConflict.Load(); f != nil {
				(*f)()
			}
		} else {
			r.transient.Add(1)
		}
		if attempt+1 >= attempts {
			r.exhausted.Add(1)
			r.logger().Warn("database operation failed after retries", "op", op, "code", code, "attempts", attempt+1, "err", DescribeError(err))
			return err
		}
		wait := r.wait(attempt)
		r.logger().Debug("database operation retried", "op", op, "code", code, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// SetLogger sets where retries are logged (DEBUG for each retry, WARN when an operation
// still fails after every retry) and where a change of database host is (WARN).
func (db *DB) SetLogger(l *slog.Logger) {
	if l != nil {
		db.retry.log.Store(l)
		if db.failover != nil {
			db.failover.log.Store(l)
		}
	}
}

// OnConflict registers fn to be called for every deadlock or certification conflict that
// the store retries (e.g. a metrics counter); nil removes it.
func (db *DB) OnConflict(fn func()) {
	if fn == nil {
		db.retry.onConflict.Store(nil)
		return
	}
	db.retry.onConflict.Store(&fn)
}

// RetryStats returns the counts of retries since the database was opened.
func (db *DB) RetryStats() RetryStats {
	return RetryStats{Conflicts: db.retry.conflicts.Load(), Transient: db.retry.transient.Load(), Exhausted: db.retry.exhausted.Load()}
}

// retryPool is the connection pool GORM uses on MySQL/MariaDB: every statement run outside
// a transaction is retried on a transient error (it was rolled back, or never reached a
// server). Statements inside a transaction run on the *sql.Tx it begins and are not retried
// one by one: their transaction is (applyTx).
type retryPool struct {
	db    *sql.DB
	retry *retrier
}

func (p *retryPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	var st *sql.Stmt
	err := p.retry.do(ctx, "prepare", nil, func() (err error) {
		st, err = p.db.PrepareContext(ctx, query)
		return err
	})
	return st, err
}

func (p *retryPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := p.retry.do(ctx, "exec", nil, func() (err error) {
		res, err = p.db.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

func (p *retryPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	err := p.retry.do(ctx, "query", nil, func() (err error) {
		rows, err = p.db.QueryContext(ctx, query, args...)
		return err
	})
	return rows, err
}

func (p *retryPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	var row *sql.Row
	_ = p.retry.do(ctx, "query", nil, func() error {
		row = p.db.QueryRowContext(ctx, query, args...)
		return row.Err()
	})
	return row
}

func (p *retryPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	var tx *sql.Tx
	err := p.retry.do(ctx, "begin", nil, func() (err error) {
		tx, err = p.db.BeginTx(ctx, opts)
		return err
	})
	return tx, err
}

// GetDBConn lets GORM's DB() return the *sql.DB.
func (p *retryPool) GetDBConn() (*sql.DB, error) { return p.db, nil }
