package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"coexhistory/internal/config"
	"coexhistory/internal/server"
	"coexhistory/internal/store"
)

const usage = `coexhistory: WhatsApp Business (Coexistence) message history for support teams.

Usage:
  coexhistory serve                 run the dashboard, webhook receiver and ingest workers
  coexhistory demo [--data DIR]     zero-setup demo: SQLite + the bundled Coex simulator
  coexhistory migrate up|status     apply or list the database migrations
  coexhistory user create --email E --role admin|agent [--password P]   (password from stdin otherwise)
  coexhistory user list|disable|enable|delete|role|reset-password|sign-out  manage staff accounts
  coexhistory token create --name N --role admin|agent                  prints a new API token
  coexhistory bench search [flags]  load a generated corpus and measure search latency
  coexhistory bench ingest [flags]  post a generated history sync to a server and measure the ingest

Every command takes --help. Configuration comes from the environment:
  COEX_ADDR              listen address (default 127.0.0.1:8080)
  COEX_DATABASE_URL      mysql://user:pass@host:3306/db or sqlite:path/to/file.db (default sqlite:data/coexhistory.db)
  COEX_APP_SECRET        Meta app secret: verifies X-Hub-Signature-256 on webhooks
  COEX_VERIFY_TOKEN      token of Meta's webhook verification handshake
  COEX_SECRET_KEY        32 bytes, hex or base64: seals access tokens at rest
  COEX_GRAPH_BASE_URL    default https://graph.facebook.com
  COEX_GRAPH_API_VERSION default v25.0
  COEX_POSITUS_BASE_URL  default https://api.positus.global
  COEX_POSITUS_WEBHOOK_TOKEN  enables POST /webhooks/positus/{token} for forwarded webhooks
  COEX_SYNC_TIMEOUT      how long to wait for the first history webhook (default 24h)
  COEX_EVENTS_CACHE_TTL  how long delivery events fetched from Meta are reused (default 60s)
  COEX_WORKERS           ingest workers per instance (default 2)
  COEX_INSTANCE_ID       stable name of this instance; after a crash it takes back its inbox claims at once (default the hostname)
  COEX_METRICS_TOKEN     bearer token of GET /metrics (unset: no /metrics on the main listener)
  COEX_METRICS_ADDR      separate listen address serving only /metrics (e.g. 127.0.0.1:9464)
  COEX_INBOX_RETENTION   how long bodies of applied webhooks are kept (default 720h)
  COEX_WEBHOOK_MEMORY_MB MiB of webhook bodies read at once; past it webhooks get a quick 503 (default 32)
  COEX_TRUSTED_PROXIES   CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed (default none)
`

// env is the process environment as a function, so tests can pass their own.
type env func(string) string

func run(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return errors.New("a command is required")
		}
		return nil
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, logger)
	case "demo":
		return cmdDemo(ctx, rest, getenv, stdout, logger)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout)
	case "user":
		return cmdUser(ctx, rest, getenv, stdin, stdout)
	case "token":
		return cmdToken(ctx, rest, getenv, stdout)
	case "bench":
		return cmdBench(ctx, rest, getenv, stdout)
	}
	return fmt.Errorf("unknown command %q (see coexhistory --help)", cmd)
}

// flags returns a FlagSet whose --help prints summary and the flags to stdout.
func flags(name, summary string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: coexhistory %s\n\n%s\n", name, summary)
		if hasFlags(fs) {
			fmt.Fprintln(stdout, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse parses args; --help is not an error.
func parse(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	return false, nil
}

// openConfiguredDB opens COEX_DATABASE_URL for a command that needs no secrets; with
// checkSchema it refuses a database whose schema lags behind this build.
func openConfiguredDB(ctx context.Context, getenv env, checkSchema bool) (*store.DB, error) {
	cfg, err := config.Load(getenv, false)
	if err != nil {
		return nil, err
	}
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if checkSchema {
		if err := db.CheckSchema(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

func openDB(ctx context.Context, url string) (*store.DB, error) {
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return store.Open(octx, url, store.Options{})
}

func cmdServe(ctx context.Context, args []string, getenv env, stdout io.Writer, logger *slog.Logger) error {
	fs := flags("serve", "Runs the dashboard, the webhook receiver and the ingest workers.\nRefuses to start on an outdated database schema (run `coexhistory migrate up`).", stdout)
	addr := fs.String("addr", "", "listen address (overrides COEX_ADDR)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	cfg, err := config.Load(getenv, true)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetLogger(logger.With("component", "store"))
	if err := db.CheckSchema(ctx); err != nil {
		return err
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit(cfg.Workers, cfg.WebhookMemory))
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return serve(ctx, cfg, db, ln, logger, stdout, nil)
}

// defaultMemoryLimit is the Go memory limit of serve unless GOMEMLIMIT is set: 32 MiB per
// ingest worker (a 3 MB history chunk being parsed and applied holds about 25 MB) and 32 MiB
// more, the default budget of webhook bodies being read (COEX_WEBHOOK_MEMORY_MB, added
// when it is larger). The collector then works a little harder near the
// limit instead of letting the heap grow to twice its peak: with 2 workers a 1M-message sync
// peaks at about 115 MB of RSS instead of 135–165 MB, for about 2 % of one core.
func defaultMemoryLimit(workers int, webhookMemory int64) int64 {
	return int64(workers)*32<<20 + max(webhookMemory, 32<<20)
}

// serve runs the app on ln until ctx ends, then shuts down in order: HTTP first (no new
// webhooks), then the workers, then the database.
func serve(ctx context.Context, cfg config.Config, db *store.DB, ln net.Listener, logger *slog.Logger, stdout io.Writer, extra func(*server.Services) error) error {
	svc, err := server.NewServices(cfg, db, logger, nil)
	if err != nil {
		return err
	}
	if extra != nil {
		if err := extra(svc); err != nil {
			return err
		}
	}
	srv := server.NewHTTPServer(server.New(svc))
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on COEX_METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", svc.MetricsHandler())
		msrv := server.NewHTTPServer(mux)
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
		logger.Info("metrics listening", "addr", mln.Addr().String(), "token", cfg.MetricsToken != "")
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workersDone := svc.StartWorkers(workCtx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("coexhistory listening", "addr", ln.Addr().String(), "database", db.Dialect())
	fmt.Fprintf(stdout, "coexhistory is running at http://%s\n", ln.Addr().String())

	select {
	case err := <-errc:
		stopWork()
		<-workersDone
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	stopWork()
	select {
	case <-workersDone:
	case <-shutdownCtx.Done():
		logger.Warn("workers did not stop in time; their leases will expire and the rows be claimed again")
	}
	return nil
}

func cmdMigrate(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	fs := flags("migrate up|status", "Applies (up) or lists (status) the versioned schema migrations of COEX_DATABASE_URL.", stdout)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "up" && fs.Arg(0) != "status") {
		fs.Usage()
		return errors.New("migrate needs `up` or `status`")
	}
	db, err := openConfiguredDB(ctx, getenv, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if fs.Arg(0) == "up" {
		applied, err := db.Migrate(ctx)
		for _, name := range applied {
			fmt.Fprintln(stdout, "applied", name)
		}
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "schema is up to date")
		}
		return nil
	}
	st, err := db.MigrationStatuses(ctx)
	if err != nil {
		return err
	}
	for _, s := range st {
		state := "pending"
		if s.Applied {
			state = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%-40s %s\n", s.Name, state)
	}
	return nil
}

func cmdToken(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	fs := flags("token create --name N --role admin|agent", "Creates an API token for /api/v1 and prints it once; only its hash is stored.", stdout)
	name := fs.String("name", "", "what uses the token")
	role := fs.String("role", "agent", "admin or agent")
	if len(args) == 0 || args[0] != "create" {
		fs.Usage()
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errors.New("token needs `create`")
	}
	if help, err := parse(fs, args[1:]); help || err != nil {
		return err
	}
	db, err := openConfiguredDB(ctx, getenv, true)
	if err != nil {
		return err
	}
	defer db.Close()
	value, t, err := authService(db).CreateToken(ctx, *name, *role, "cli")
	if err != nil {
		return describe(err)
	}
	_ = db.Audit(ctx, auditToken(t.Name, t.Role))
	fmt.Fprintln(stdout, value)
	return nil
}
