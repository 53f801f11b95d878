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
	"coexhistory/internal/coex"
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

// TestHistoryStreamIsAMetaSync parses every generated body as the ingest does and checks the
// shape of the sync: all messages once, phases in order with chunk_order from 1, progress
// rising to 100, body sizes around the mean, times in their phase's window, a mix of
// directions, types, statuses and languages.
func TestHistoryStreamIsAMetaSync(t *testing.T) {
	day0 := time.Date(2025, 10, 20, 12, 0, 0, 0, time.UTC).Unix()
	spec := bench.HistorySpec{Messages: 12000, Threads: 300, BodyBytes: 200 << 10, Seed: 3,
		PhoneNumberID: "623400011122233", DisplayPhoneNumber: "5511987650000", WABAID: "810023456789012", Onboarded: day0}
	stream, err := bench.NewHistoryStream(spec)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	contacts := map[string]bool{}
	count := map[string]int{}
	lastPhase, lastProgress, bodies := 0, 0, 0
	lastOrder := map[int]int{}
	var first []byte
	for {
		body, info, ok := stream.Next()
		if !ok {
			break
		}
		bodies++
		if first == nil {
			first = append([]byte(nil), body...)
		}
		batch, err := coex.Parse(body)
		if err != nil {
			t.Fatalf("body %d: %v", bodies, err)
		}
		if len(batch.Changes) != 1 || len(batch.Changes[0].Chunks) != 1 {
			t.Fatalf("body %d: %d changes; want one history chunk", bodies, len(batch.Changes))
		}
		ch := batch.Changes[0]
		c := ch.Chunks[0]
		if ch.Field != coex.FieldHistory || ch.PhoneNumberID != spec.PhoneNumberID || ch.WABAID != spec.WABAID {
			t.Fatalf("body %d: field %q number %q waba %q", bodies, ch.Field, ch.PhoneNumberID, ch.WABAID)
		}
		if c.Phase != info.Phase || c.ChunkOrder != info.ChunkOrder || c.Progress != info.Progress ||
			len(c.Messages) != info.Messages || c.ThreadCount != info.Threads {
			t.Fatalf("body %d: parsed %d/%d progress %d, %d messages in %d threads; info %+v",
				bodies, c.Phase, c.ChunkOrder, c.Progress, len(c.Messages), c.ThreadCount, info)
		}
		if c.Phase < lastPhase || c.ChunkOrder != lastOrder[c.Phase]+1 || c.Progress < lastProgress {
			t.Fatalf("body %d: chunk %d/%d progress %d after phase %d chunk %d progress %d",
				bodies, c.Phase, c.ChunkOrder, c.Progress, lastPhase, lastOrder[c.Phase], lastProgress)
		}
		lastPhase, lastOrder[c.Phase], lastProgress = c.Phase, c.ChunkOrder, c.Progress
		if len(body) > spec.BodyBytes*3/2+4096 {
			t.Errorf("body %d is %d bytes; want at most 1.5 × %d", bodies, len(body), spec.BodyBytes)
		}
		for _, m := range c.Messages {
			if seen[m.WAMID] {
				t.Fatalf("wamid %s twice", m.WAMID)
			}
			seen[m.WAMID] = true
			contacts[m.ContactWAID] = true
			age := day0 - m.Timestamp
			wantPhase := 2
			if age < 24*3600 {
				wantPhase = 0
			} else if age < 90*24*3600 {
				wantPhase = 1
			}
			if age <= 0 || age > 180*24*3600+24*3600 || wantPhase != c.Phase {
				t.Fatalf("message at %d (age %d s) in phase %d", m.Timestamp, age, c.Phase)
			}
			count[m.Direction]++
			count["type:"+m.Type]++
			count["status:"+m.Status]++
			if strings.Contains(m.Text, "order #") || strings.Contains(m.Text, "Thank") || strings.Contains(m.Text, "Hi!") {
				count["english"]++
			}
			if strings.Contains(m.Text, "ã") || strings.Contains(m.Text, "ç") {
				count["portuguese"]++
			}
		}
	}
	if len(seen) != spec.Messages || len(contacts) != spec.Threads || lastProgress != 100 || lastPhase != 2 {
		t.Fatalf("%d messages in %d threads, last progress %d in phase %d; want %d in %d, 100, phase 2",
			len(seen), len(contacts), lastProgress, lastPhase, spec.Messages, spec.Threads)
	}
	if lastOrder[0] < 1 || lastOrder[1] < 5 || lastOrder[2] < 5 {
		t.Errorf("chunks per phase %v; want some in each, most in phases 1 and 2", lastOrder)
	}
	for _, key := range []string{coex.DirectionInbound, coex.DirectionOutbound, "type:text", "type:" + coex.TypeMediaPlaceholder,
		"type:reaction", "type:location", "status:read", "status:delivered", "status:sent", "status:error", "status:played",
		"english", "portuguese"} {
		if count[key] < 10 {
			t.Errorf("%s: %d messages; want a realistic share (counts %v)", key, count[key], count)
		}
	}
	if !bytes.Contains(first, []byte(`\u00`)) || bytes.Contains(first, []byte("ç")) {
		t.Error("bodies must escape non-ASCII text as \\uXXXX, as Meta does")
	}

	again, err := bench.NewHistoryStream(spec)
	if err != nil {
		t.Fatal(err)
	}
	body, _, _ := again.Next()
	if !bytes.Equal(body, first) {
		t.Error("the same spec and seed must give the same bodies")
	}
	if _, err := bench.NewHistoryStream(bench.HistorySpec{Messages: 10}); err == nil {
		t.Errorf("a spec without a number: %v; want an error", err)
	}
}
