package store_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// tcpProxy forwards connections to target until stopped: a database server that can be
// stopped and started again without touching the real one.
type tcpProxy struct {
	t        *testing.T
	target   string
	addr     string
	mu       sync.Mutex
	ln       net.Listener
	conns    []net.Conn
	accepted atomic.Int64
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target}
	p.start("127.0.0.1:0")
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// stop closes the listener and every forwarded connection, like a server that died.
func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// withHosts returns dbURL with its host replaced by the comma-separated hosts.
func withHosts(t *testing.T, dbURL string, hosts ...string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(dbURL, "@"+u.Host+"/", "@"+strings.Join(hosts, ",")+"/", 1)
}

func TestParseURLWithSeveralHosts(t *testing.T) {
	_, dsn, err := store.ParseURL("mysql://u:p%40ss@h1:3306,h2,h3:3307/coex?timeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dsn, "tcp(h1:3306,h2:3306,h3:3307)/coex") || !strings.Contains(dsn, "u:p@ss@") {
		t.Fatalf("dsn = %s", dsn)
	}
	_, dsn, err = store.ParseURL("mysql://u:p@h1/coex")
	if err != nil || !strings.Contains(dsn, "tcp(h1:3306)/coex") {
		t.Fatalf("dsn = %s, %v", dsn, err)
	}
}

// With two servers in the URL, the store uses the first; when it stops, statements go on
// (retried) on the second within seconds; a first host that is down at the start is passed
// over.
func TestFailoverToTheNextHost(t *testing.T) {
	storetest.MySQLServer(t)
	dbURL := storetest.URL(t, store.MySQL)
	u, _ := url.Parse(dbURL)
	ctx := context.Background()
	{
		db, err := store.Open(ctx, dbURL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	a, b := newTCPProxy(t, u.Host), newTCPProxy(t, u.Host)
	db, err := store.Open(ctx, withHosts(t, dbURL, a.addr, b.addr), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CheckWrite(ctx, "failover"); err != nil {
		t.Fatal(err)
	}
	if db.DatabaseHost() != a.addr || b.accepted.Load() != 0 {
		t.Fatalf("host = %s (a %s), b accepted %d", db.DatabaseHost(), a.addr, b.accepted.Load())
	}

	a.stop() // the first server dies, its connections with it
	start := time.Now()
	for i := range 20 {
		if _, _, err := db.InsertInbox(ctx, "meta", []byte{byte(i)}); err != nil {
			t.Fatalf("insert %d after the first host stopped: %v", i, err)
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("writes after the failover took %s", took)
	}
	if db.DatabaseHost() != b.addr || b.accepted.Load() == 0 {
		t.Fatalf("host = %s, want %s", db.DatabaseHost(), b.addr)
	}
	counts, err := db.InboxCounts(ctx)
	if err != nil || counts["pending"] != 20 {
		t.Fatalf("counts = %v, %v", counts, err)
	}

	// A first host that is down when the instance starts is passed over.
	dead := a.addr
	db2, err := store.Open(ctx, withHosts(t, dbURL, dead, b.addr), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.CheckWrite(ctx, "failover2"); err != nil || db2.DatabaseHost() != b.addr {
		t.Fatalf("write = %v on %s", err, db2.DatabaseHost())
	}
}
