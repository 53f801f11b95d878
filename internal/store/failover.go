package store

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// Failover between several database servers (the nodes of a Galera cluster), named in one
// URL: mysql://user:pass@h1:3306,h2:3306,h3:3306/db. Every new connection goes to the
// current host; the first host in the list is current at the start. When the current host
// refuses a connection, the next one that accepts becomes current. A health check asks the
// current host every failoverCheckEvery whether it answers and, on Galera, whether it is
// ready (wsrep_ready = ON; a node cut off from the primary component answers every query
// with error 1047); when it is not, the next healthy host becomes current and the
// connections still open to the old one are closed, so the pool opens new ones. There is no
// fail-back: connections stay on the host that took over until it fails in turn, so an
// instance does not flap between nodes (a node that rejoins is used again when the one in
// use fails).

const (
	failoverCheckEvery  = time.Second
	failoverDialTimeout = 2 * time.Second
)

// splitHosts takes a comma-separated host list out of a mysql:// URL: it returns the URL with
// only the first host (for url.Parse) and every host.
func splitHosts(rawURL string) (string, []string) {
	rest := strings.TrimPrefix(rawURL, "mysql://")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	at := strings.LastIndex(authority, "@")
	hostPart := authority[at+1:]
	if !strings.Contains(hostPart, ",") {
		return rawURL, nil
	}
	var hosts []string
	for _, h := range strings.Split(hostPart, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return rawURL, nil
	}
	return "mysql://" + authority[:at+1] + hosts[0] + rest[end:], hosts
}

func joinHosts(hosts []string) string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		if !strings.Contains(h, ":") {
			h += ":3306"
		}
		out[i] = h
	}
	return strings.Join(out, ",")
}

// openMySQLPool opens the connection pool of a MySQL DSN; with several hosts in its address
// the pool's connections fail over between them.
func openMySQLPool(dsn string) (*sql.DB, *failover, error) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return nil, nil, err
	}
	// The driver gives an address without a port one (":3306"), bracketing it as an IPv6
	// address when it has colons: the host list "h1:3306,h2:3306" comes back as
	// "[h1:3306,h2:3306]:3306".
	if strings.Contains(cfg.Addr, ",") && strings.HasPrefix(cfg.Addr, "[") {
		cfg.Addr = strings.TrimPrefix(cfg.Addr[:strings.LastIndex(cfg.Addr, "]")], "[")
	}
	if !strings.Contains(cfg.Addr, ",") {
		c, err := gomysql.NewConnector(cfg)
		if err != nil {
			return nil, nil, err
		}
		return sql.OpenDB(c), nil, nil
	}
	f, err := newFailover(cfg)
	if err != nil {
		return nil, nil, err
	}
	main := cfg.Clone()
	main.DialFunc = f.dial
	c, err := gomysql.NewConnector(main)
	if err != nil {
		f.stop()
		return nil, nil, err
	}
	return sql.OpenDB(c), f, nil
}

// failover picks the host of new connections and tracks the open ones per host.
type failover struct {
	hosts  []string
	probes []*sql.DB // one small pool per host for the health check
	cur    atomic.Int32
	log    atomic.Pointer[slog.Logger]

	mu    sync.Mutex
	conns map[*trackedConn]int // open connection → host index

	done    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
}

func newFailover(cfg *gomysql.Config) (*failover, error) {
	f := &failover{hosts: strings.Split(cfg.Addr, ","), conns: map[*trackedConn]int{}, done: make(chan struct{})}
	for _, h := range f.hosts {
		pc := cfg.Clone()
		pc.Addr = h
		pc.DialFunc = nil
		pc.Timeout = failoverDialTimeout
		pc.ReadTimeout = failoverDialTimeout
		pc.WriteTimeout = failoverDialTimeout
		c, err := gomysql.NewConnector(pc)
		if err != nil {
			f.stop()
			return nil, err
		}
		p := sql.OpenDB(c)
		p.SetMaxOpenConns(1)
		p.SetMaxIdleConns(1)
		f.probes = append(f.probes, p)
	}
	f.wg.Add(1)
	go f.watch()
	return f, nil
}

func (f *failover) logger() *slog.Logger {
	if l := f.log.Load(); l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// Current returns the host new connections go to.
func (f *failover) current() string { return f.hosts[f.cur.Load()] }

// dial connects to the current host or, when it refuses, to the next one that accepts,
// which becomes current.
func (f *failover) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	start := int(f.cur.Load())
	var errs []error
	for i := range f.hosts {
		idx := (start + i) % len(f.hosts)
		d := net.Dialer{Timeout: failoverDialTimeout, KeepAlive: 15 * time.Second}
		c, err := d.DialContext(ctx, "tcp", f.hosts[idx])
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if idx != start && f.cur.CompareAndSwap(int32(start), int32(idx)) {
			f.logger().Warn("database host changed: the previous one refused a connection",
				"from", f.hosts[start], "to", f.hosts[idx], "err", errors.Join(errs...))
		}
		return f.track(idx, c), nil
	}
	return nil, errors.Join(append([]error{errNoHealthyHost}, errs...)...)
}

func (f *failover) track(idx int, c net.Conn) net.Conn {
	t := &trackedConn{Conn: c, f: f}
	f.mu.Lock()
	f.conns[t] = idx
	f.mu.Unlock()
	return t
}

// closeHost closes every open connection to host idx.
func (f *failover) closeHost(idx int) int {
	f.mu.Lock()
	var victims []*trackedConn
	for c, i := range f.conns {
		if i == idx {
			victims = append(victims, c)
		}
	}
	f.mu.Unlock()
	for _, c := range victims {
		_ = c.Close()
	}
	return len(victims)
}

// watch checks the current host every failoverCheckEvery and moves to a healthy one when
// it is not.
func (f *failover) watch() {
	defer f.wg.Done()
	tick := time.NewTicker(failoverCheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-f.done:
			return
		case <-tick.C:
		}
		cur := int(f.cur.Load())
		err := f.check(cur)
		if err == nil {
			continue
		}
		for i := 1; i < len(f.hosts); i++ {
			idx := (cur + i) % len(f.hosts)
			if f.check(idx) != nil {
				continue
			}
			if f.cur.CompareAndSwap(int32(cur), int32(idx)) {
				n := f.closeHost(cur)
				f.logger().Warn("database host changed: the previous one failed its health check",
					"from", f.hosts[cur], "to", f.hosts[idx], "closed_connections", n, "err", DescribeError(err))
			}
			break
		}
	}
}

// check asks host idx whether it answers and, on Galera, is ready for application use.
func (f *failover) check(idx int) error {
	ctx, cancel := context.WithTimeout(context.Background(), failoverDialTimeout)
	defer cancel()
	var name, value string
	err := f.probes[idx].QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'wsrep_ready'").Scan(&name, &value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // not a Galera node
	case err != nil:
		return err
	case !strings.EqualFold(value, "ON"):
		return errors.New("wsrep_ready is " + value)
	}
	return nil
}

func (f *failover) stop() {
	if f == nil {
		return
	}
	f.stopped.Do(func() {
		close(f.done)
		f.wg.Wait()
		for _, p := range f.probes {
			_ = p.Close()
		}
	})
}

// trackedConn is a connection the failover can close when its host fails.
type trackedConn struct {
	net.Conn
	f    *failover
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.f.mu.Lock()
		delete(c.f.conns, c)
		c.f.mu.Unlock()
	})
	return c.Conn.Close()
}

// DatabaseHost returns the database server new connections go to (host:port), or "" on
// SQLite or with a single configured server.
func (db *DB) DatabaseHost() string {
	if db.failover == nil {
		return ""
	}
	return db.failover.current()
}

// ClusterConflicts is the connected Galera node's count of certification failures and
// brute-force aborts (local transactions rolled back for replicated ones) since it started;
// ok is false on SQLite or a server that is not a Galera node.
func (db *DB) ClusterConflicts(ctx context.Context) (n int64, ok bool) {
	if db.dialect != MySQL {
		return 0, false
	}
	err := db.rawQuery(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')", nil,
		func(r *sql.Rows) error {
			var name string
			var v int64
			if err := r.Scan(&name, &v); err != nil {
				return err
			}
			n, ok = n+v, true
			return nil
		})
	if err != nil {
		return 0, false
	}
	return n, ok
}
