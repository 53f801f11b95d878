// Package store is coexhistory's only door to the database: it opens MySQL/MariaDB or the
// embedded SQLite, applies the versioned migrations, and offers one repository per concern.
// It is the only package that imports GORM.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialects.
const (
	MySQL  = "mysql"
	SQLite = "sqlite"
)

// DB is an open database. It is safe for concurrent use.
type DB struct {
	gorm     *gorm.DB
	dialect  string
	now      func() time.Time
	pace     func(context.Context) // between the statements of a message write (an Ingester); nil: none
	retry    *retrier              // retries of transient errors, shared by the DB's copies
	failover *failover             // several MySQL hosts: which one new connections go to; else nil
}

// Options tune Open. The zero value is fine.
type Options struct {
	MaxOpenConns int              // default 20 (MySQL); SQLite uses a single writer-friendly pool
	Now          func() time.Time // clock for created_at/updated_at; default time.Now
}

// Open connects to url: "mysql://user:pass@host:port/db?param=v" or "sqlite:path/to/file.db".
// A MySQL URL may name several servers, "mysql://user:pass@h1:3306,h2:3306,h3:3306/db" (the
// nodes of a Galera cluster): new connections go to the first that answers and is ready, and
// move to the next when it stops answering (failover.go).
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	dialect, dsn, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := func() time.Time { return opts.Now().UTC() }
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                now,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		TranslateError:         false,
	}
	var gdb *gorm.DB
	retry := newRetrier()
	var fo *failover
	switch dialect {
	case MySQL:
		var pool *sql.DB
		if pool, fo, err = openMySQLPool(dsn); err == nil {
			gdb, err = gorm.Open(mysql.New(mysql.Config{DSN: dsn, Conn: &retryPool{db: pool, retry: retry}}), cfg)
			if err != nil {
				_ = pool.Close()
				fo.stop()
			}
		}
	case SQLite:
		gdb, err = gorm.Open(sqlite.Open(dsn), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	switch dialect {
	case MySQL:
		maxOpen := opts.MaxOpenConns
		if maxOpen <= 0 {
			maxOpen = 20
		}
		sqlDB.SetMaxOpenConns(maxOpen)
		sqlDB.SetMaxIdleConns(maxOpen)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	case SQLite:
		// One connection: SQLite has a single writer, and one connection makes every
		// transaction see the previous one without busy retries.
		sqlDB.SetMaxOpenConns(1)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		fo.stop()
		return nil, fmt.Errorf("reach %s database: %w", dialect, err)
	}
	return &DB{gorm: gdb, dialect: dialect, now: now, retry: retry, failover: fo}, nil
}

// ParseURL turns a COEX_DATABASE_URL into a dialect and a driver DSN.
func ParseURL(rawURL string) (dialect, dsn string, err error) {
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(rawURL, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return "", "", errors.New("sqlite URL needs a file path, e.g. sqlite:data/coexhistory.db")
		}
		q := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_time_format=sqlite"
		if path == ":memory:" {
			return SQLite, "file::memory:?" + q, nil
		}
		return SQLite, "file:" + path + "?" + q, nil
	case strings.HasPrefix(rawURL, "mysql://"):
		rawURL, hosts := splitHosts(rawURL)
		u, err := url.Parse(rawURL)
		if err != nil {
			return "", "", fmt.Errorf("mysql URL: %w", err)
		}
		if u.Host == "" {
			return "", "", errors.New("mysql URL needs a host, e.g. mysql://user:pass@127.0.0.1:3306/coexhistory")
		}
		dbName := strings.TrimPrefix(u.Path, "/")
		if dbName == "" {
			return "", "", errors.New("mysql URL needs a database name, e.g. mysql://user:pass@127.0.0.1:3306/coexhistory")
		}
		c := gomysql.NewConfig()
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
		c.Net = "tcp"
		c.Addr = u.Host
		if !strings.Contains(u.Host, ":") {
			c.Addr = u.Host + ":3306"
		}
		if len(hosts) > 1 {
			c.Addr = joinHosts(hosts) // several nodes: Open fails over between them (failover.go)
		}
		c.DBName = dbName
		c.ParseTime = true
		c.Loc = time.UTC
		c.Collation = "utf8mb4_unicode_ci"
		c.MultiStatements = false
		c.InterpolateParams = true
		c.Params = map[string]string{"charset": "utf8mb4", "time_zone": "'+00:00'"}
		for k, v := range u.Query() {
			switch k {
			case "tls":
				c.TLSConfig = v[0]
			case "timeout":
				d, err := time.ParseDuration(v[0])
				if err != nil {
					return "", "", fmt.Errorf("mysql URL: timeout: %w", err)
				}
				c.Timeout = d
			default:
				c.Params[k] = v[0]
			}
		}
		return MySQL, c.FormatDSN(), nil
	default:
		return "", "", errors.New(`must start with "mysql://" or "sqlite:"`)
	}
}

// Dialect returns MySQL or SQLite.
func (db *DB) Dialect() string { return db.dialect }

// SQL returns the underlying database/sql handle (for migrations and search backends).
func (db *DB) SQL() *sql.DB {
	sqlDB, _ := db.gorm.DB() // cannot fail once Open succeeded
	return sqlDB
}

// Close releases the connections.
func (db *DB) Close() error {
	db.failover.stop()
	return db.SQL().Close()
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.retry.do(ctx, "ping", nil, func() error { return db.SQL().PingContext(ctx) })
}

// Now is the store's clock (UTC).
func (db *DB) Now() time.Time { return db.now() }

// Tx runs fn in one transaction; fn's DB uses that transaction. A transaction that fails
// with a transient error (a deadlock, a Galera certification conflict, a lost connection;
// retry.go) is rolled back and run again, so fn must only work on the database and set its
// results afresh on every run.
func (db *DB) Tx(ctx context.Context, fn func(tx *DB) error) error {
	return db.retry.do(ctx, "transaction", nil, func() error {
		return db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
			return fn(&DB{gorm: g, dialect: db.dialect, now: db.now, pace: db.pace, retry: db.retry, failover: db.failover})
		})
	})
}

// q starts a GORM statement bound to ctx.
func (db *DB) q(ctx context.Context) *gorm.DB { return db.gorm.WithContext(ctx) }
