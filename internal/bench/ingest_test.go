package bench_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"coexhistory/internal/bench"
	"coexhistory/internal/config"
	"coexhistory/internal/server"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// serveEnv makes this test binary run the coexhistory server instead of the tests, so that
// the benchmark's child-process path (start, health check, peak RSS, stop) is exercised
// without building the command.
const serveEnv = "COEX_BENCH_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		if err := serveForTest(); err != nil {
			slog.Error("test server", "err", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveForTest does what `coexhistory serve` does, until SIGTERM.
func serveForTest() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := config.Load(os.Getenv, true)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := server.NewServices(cfg, db, logger, nil)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	workersDone := svc.StartWorkers(workCtx)
	srv := server.NewHTTPServer(server.New(svc))
	go func() { _ = srv.Serve(ln) }()
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	stopWork()
	<-workersDone
	return nil
}

// TestIngestSmoke runs the whole ingest benchmark on a small history against a child
// server: every message applied once, both replays add nothing, the ceiling sees the same
// rows, and the run's data is gone afterwards.
func TestIngestSmoke(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			url := storetest.URL(t, dialect)
			ctx := context.Background()
			db, err := store.Open(ctx, url, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			srv, err := bench.StartServer(ctx, exe, append(os.Environ(), serveEnv+"=1", "COEX_DATABASE_URL="+url, "COEX_WORKERS=2"))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()

			var out bytes.Buffer
			opts := bench.IngestOptions{Messages: 3000, Threads: 60, BodyMB: 0.05, Concurrency: 3, PollInterval: 10 * time.Millisecond}
			r, err := bench.Ingest(ctx, db, srv.Target(2), opts, &out)
			t.Log("\n" + out.String())
			if err != nil {
				t.Fatalf("%v\nserver log:\n%s", err, srv.LogTail(20))
			}
			if r.Messages != 3000 || r.Threads != 60 || r.Bodies < 10 || r.Acks.N != r.Bodies {
				t.Errorf("report: %d messages, %d threads, %d bodies, %d acks; want 3000, 60, ≥ 10, one ack per body",
					r.Messages, r.Threads, r.Bodies, r.Acks.N)
			}
			if r.RepostInboxAdded != 0 || r.RepostMessagesAdded != 0 || r.ReapplyMessagesAdded != 0 || r.ReapplyChanged {
				t.Errorf("replays wrote: re-post %+d inbox rows %+d messages, re-apply %+d messages, changed %v",
					r.RepostInboxAdded, r.RepostMessagesAdded, r.ReapplyMessagesAdded, r.ReapplyChanged)
			}
			if r.CeilingRows != 3000 || r.Ceiling <= 0 || r.Fresh <= 0 || r.Reapply <= 0 {
				t.Errorf("ceiling %d rows in %s, fresh %s, re-apply %s", r.CeilingRows, r.Ceiling, r.Fresh, r.Reapply)
			}
			if r.FreshCPU <= 0 {
				t.Errorf("server CPU during the fresh sync: %s; want the child's CPU time", r.FreshCPU)
			}
			if r.PeakRSS < 1<<20 {
				t.Errorf("peak RSS %d bytes; want the child's VmHWM", r.PeakRSS)
			}
			for _, want := range []string{"end to end / ceiling", "server peak RSS (VmHWM)", "replay: every inbox row applied again"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q", want)
				}
			}
			var left int
			if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM messages").Scan(&left); err != nil || left != 0 {
				t.Errorf("messages left after the run: %d, %v", left, err)
			}
			if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_inbox").Scan(&left); err != nil || left != 0 {
				t.Errorf("inbox rows left after the run: %d, %v", left, err)
			}
			if _, err := db.SQL().ExecContext(ctx, "SELECT 1 FROM bench_ingest_ceiling"); err == nil {
				t.Error("the ceiling's scratch table is still there")
			}
		})
	}
}

func TestIngestTargetNeedsURLAndSecret(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	_, err := bench.Ingest(context.Background(), db, bench.Target{URL: "http://127.0.0.1:1"}, bench.IngestOptions{Messages: 10}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "app secret") {
		t.Fatalf("Ingest without a secret: %v", err)
	}
}
