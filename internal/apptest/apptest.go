// Package apptest runs the whole coexhistory HTTP app against a fresh database for
// tests: real router, real middleware, real store. It signs staff in like a browser would.
package apptest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"coexhistory/internal/config"
	"coexhistory/internal/server"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// Secrets used by every test app.
const (
	AppSecret     = "test-app-secret-0123456789"
	VerifyToken   = "test-verify-token-0123456789"
	SecretKeyHex  = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	AdminEmail    = "admin@example.com"
	AgentEmail    = "agent@example.com"
	Password      = "correct horse battery"
	PositusSecret = "positus-webhook-secret-0123456789abcdef"
)

// App is a running test instance.
type App struct {
	T        testing.TB
	DB       *store.DB
	Services *server.Services
	Server   *httptest.Server
	Logs     *SyncBuffer // everything the app logged
	Config   config.Config
}

// Options adjust the app before it starts.
type Options struct {
	Env   map[string]string      // extra environment (e.g. COEX_GRAPH_BASE_URL)
	Setup func(*server.Services) // change services before the handler is built
	Now   func() time.Time       // clock; default time.Now
}

// Env is the environment of a test app on databaseURL.
func Env(databaseURL string, extra map[string]string) func(string) string {
	m := map[string]string{
		"COEX_DATABASE_URL":          databaseURL,
		"COEX_APP_SECRET":            AppSecret,
		"COEX_VERIFY_TOKEN":          VerifyToken,
		"COEX_SECRET_KEY":            SecretKeyHex,
		"COEX_POSITUS_WEBHOOK_TOKEN": PositusSecret,
		"COEX_MEDIA_URL":             "mem://",
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// New starts the app on a fresh migrated database of dialect, with an admin and an agent.
func New(t testing.TB, dialect string, opts Options) *App {
	t.Helper()
	return start(t, storetest.Open(t, dialect), opts, true)
}

// Another starts a second instance on a's database, as a second server behind a load
// balancer: the same accounts and data, its own services and HTTP server.
func (a *App) Another(opts Options) *App {
	a.T.Helper()
	return start(a.T, a.DB, opts, false)
}

func start(t testing.TB, db *store.DB, opts Options, createUsers bool) *App {
	t.Helper()
	cfg, err := config.Load(Env("sqlite:unused.db", opts.Env), true)
	if err != nil {
		t.Fatal(err)
	}
	logs := &SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := server.NewServices(cfg, db, logger, opts.Now)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Setup != nil {
		opts.Setup(svc)
	}
	ctx := context.Background()
	for email, role := range map[string]string{AdminEmail: models.RoleAdmin, AgentEmail: models.RoleAgent} {
		if !createUsers {
			break
		}
		if _, err := svc.Auth.CreateUser(ctx, email, Password, role); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(server.New(svc))
	t.Cleanup(srv.Close)
	return &App{T: t, DB: db, Services: svc, Server: srv, Logs: logs, Config: cfg}
}

// Client is a browser-like client with a cookie jar and the CSRF token of its session.
type Client struct {
	app  *App
	HTTP *http.Client
	CSRF string
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)"`)

// Anonymous returns a client that is not signed in (it has fetched the sign-in form).
func (a *App) Anonymous() *Client {
	jar, _ := cookiejar.New(nil)
	c := &Client{app: a, HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res, body := c.Get("/login", nil)
	if res.StatusCode != http.StatusOK {
		a.T.Fatalf("GET /login = %d", res.StatusCode)
	}
	c.CSRF = findCSRF(a.T, body)
	return c
}

// Login signs in as email and returns the client.
func (a *App) Login(email string) *Client {
	a.T.Helper()
	c := a.Anonymous()
	res, _ := c.PostForm("/login", url.Values{"email": {email}, "password": {Password}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		a.T.Fatalf("login as %s = %d", email, res.StatusCode)
	}
	res, body := c.Get("/", nil)
	if res.StatusCode != http.StatusOK {
		a.T.Fatalf("GET / after login = %d", res.StatusCode)
	}
	c.CSRF = findCSRF(a.T, body)
	return c
}

func findCSRF(t testing.TB, body string) string {
	m := csrfMeta.FindStringSubmatch(body)
	if m == nil || m[1] == "" {
		t.Fatalf("no csrf-token meta in page:\n%.500s", body)
	}
	return m[1]
}

// Do sends a request with headers and returns the response and its body.
func (c *Client) Do(method, path string, body io.Reader, header http.Header) (*http.Response, string) {
	c.app.T.Helper()
	req, err := http.NewRequest(method, c.app.Server.URL+path, body)
	if err != nil {
		c.app.T.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.app.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// Get fetches path.
func (c *Client) Get(path string, header http.Header) (*http.Response, string) {
	return c.Do(http.MethodGet, path, nil, header)
}

// PostForm posts a form with the session's CSRF token (unless the form sets _csrf).
func (c *Client) PostForm(path string, form url.Values, header http.Header) (*http.Response, string) {
	return c.SendForm(http.MethodPost, path, form, header)
}

// SendForm sends a form with method, adding the CSRF token unless the form has _csrf.
func (c *Client) SendForm(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	if form == nil {
		form = url.Values{}
	}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.CSRF)
		h.Set("X-CSRF-Token", c.CSRF) // as HTMX sends it (DELETE has no form body)
	}
	for k, v := range header {
		h[k] = v
	}
	return c.Do(method, path, strings.NewReader(form.Encode()), h)
}

// HX is the header set of an HTMX request.
func HX() http.Header { return http.Header{"HX-Request": {"true"}} }

// API sends a request with a bearer token.
func (a *App) API(method, path, token string, body []byte) (*http.Response, string) {
	c := &Client{app: a, HTTP: http.DefaultClient}
	h := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	return c.Do(method, path, r, h)
}

// Token creates an API token with role and returns its value.
func (a *App) Token(role string) string {
	a.T.Helper()
	v, _, err := a.Services.Auth.CreateToken(context.Background(), "test-"+role, role, "test")
	if err != nil {
		a.T.Fatal(err)
	}
	return v
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (the app's log).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// AssertNotInDatabase fails when any column of any table holds secret in plain text.
func (a *App) AssertNotInDatabase(secret string) {
	a.T.Helper()
	ctx := context.Background()
	var q string
	if a.DB.Dialect() == store.SQLite {
		q = `SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'`
	} else {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`
	}
	rows, err := a.DB.SQL().QueryContext(ctx, q)
	if err != nil {
		a.T.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 5 {
		a.T.Fatalf("only %d tables found", len(tables))
	}
	for _, tbl := range tables {
		r, err := a.DB.SQL().QueryContext(ctx, "SELECT * FROM "+tbl)
		if err != nil {
			a.T.Fatalf("read %s: %v", tbl, err)
		}
		cols, _ := r.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for r.Next() {
			if err := r.Scan(ptrs...); err != nil {
				a.T.Fatal(err)
			}
			for i, v := range vals {
				var s string
				switch x := v.(type) {
				case []byte:
					s = string(x)
				case string:
					s = x
				}
				if strings.Contains(s, secret) {
					a.T.Fatalf("table %s column %s holds the secret in plain text", tbl, cols[i])
				}
			}
		}
		r.Close()
	}
}
