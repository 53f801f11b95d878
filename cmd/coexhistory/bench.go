package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"coexhistory/internal/bench"
)

func cmdBench(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "search":
			return cmdBenchSearch(ctx, args[1:], getenv, stdout)
		case "ingest":
			return cmdBenchIngest(ctx, args[1:], getenv, stdout)
		}
	}
	fmt.Fprint(stdout, `Usage: coexhistory bench search|ingest [flags]

  search   load a generated corpus and measure search and thread-page latency
  ingest   post a generated history sync to a server over HTTP and measure the ingest

Run coexhistory bench search --help or coexhistory bench ingest --help for the flags.
`)
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		return nil
	}
	return errors.New("bench needs `search` or `ingest`")
}

func cmdBenchSearch(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	fs := flags("bench search [flags]", "Loads a generated corpus into COEX_DATABASE_URL (once; it stays under its own\nbench-number-N numbers) and prints p50/p95 search and thread-page latencies.", stdout)
	var o bench.Options
	fs.IntVar(&o.Messages, "messages", 0, "messages to load (default 1,000,000 on MySQL, 200,000 on SQLite)")
	fs.IntVar(&o.Threads, "threads", 0, "threads (default messages/50)")
	fs.IntVar(&o.Runs, "runs", 0, "timed runs per case (default 50)")
	fs.Int64Var(&o.Seed, "seed", 0, "generator seed (default 1)")
	fs.BoolVar(&o.Reload, "reload", false, "reload the corpus even if it is already there")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	db, err := openConfiguredDB(ctx, getenv, true)
	if err != nil {
		return err
	}
	defer db.Close()
	return bench.Search(ctx, db, o, stdout)
}

const benchIngestSummary = `Generates a 180-day history sync of a new business number (signed history webhooks of
1–3 MB), posts it over HTTP to a coexhistory server, waits until every message is applied,
replays it (every body again; every inbox row requeued) and measures the raw upsert ceiling
of the database on the same rows. Prints end-to-end messages/s, webhook ack latency, the
server's peak RSS and the ratio to the ceiling, next to the issue's targets.

Without --url it runs ` + "`migrate up`" + ` on COEX_DATABASE_URL and starts this binary's ` + "`serve`" + ` as a
child process on a free loopback port with fresh secrets (COEX_WORKERS and the other
settings pass through). With --url it posts to that server instead (its database must be
COEX_DATABASE_URL, which is polled; its RSS is not measured). Use a database of its own:
the run writes everything under a random number and deletes it at the end (unless --keep).`

func cmdBenchIngest(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	fs := flags("bench ingest [flags]", benchIngestSummary, stdout)
	var o bench.IngestOptions
	fs.IntVar(&o.Messages, "messages", 1_000_000, "messages in the generated history")
	fs.IntVar(&o.Threads, "threads", 20_000, "chats in the generated history")
	fs.Float64Var(&o.BodyMB, "body-mb", 2, "mean webhook body size in MB; each body is half to 1.5 times it")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "concurrent senders")
	fs.Int64Var(&o.Seed, "seed", 1, "generator seed")
	fs.BoolVar(&o.Keep, "keep", false, "leave the run's messages, threads and inbox rows in the database")
	fs.StringVar(&o.SpoolDir, "spool-dir", "", "directory for the generated bodies (default the system's temporary directory)")
	url := fs.String("url", "", "base URL of a running server to post to instead of starting one, e.g. http://127.0.0.1:8080")
	appSecret := fs.String("app-secret", "", "with --url: the server's COEX_APP_SECRET (default $COEX_APP_SECRET)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if *url != "" && *appSecret == "" {
		*appSecret = getenv("COEX_APP_SECRET")
		if *appSecret == "" {
			return errors.New("--url needs --app-secret (or COEX_APP_SECRET): the webhooks must be signed with the server's secret")
		}
	}
	db, err := openConfiguredDB(ctx, getenv, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	// The server's ingest workers: its default, or COEX_WORKERS as this command sees it.
	workers := 2
	if v, err := strconv.Atoi(getenv("COEX_WORKERS")); err == nil && v > 0 {
		workers = v
	}
	target := bench.Target{URL: *url, AppSecret: *appSecret, Workers: workers}
	if *url == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary to start the server: %w", err)
		}
		env := append(os.Environ(), "COEX_DATABASE_URL="+getenv("COEX_DATABASE_URL"))
		if getenv("COEX_DATABASE_URL") == "" {
			env = os.Environ()
		}
		srv, err := bench.StartServer(ctx, exe, env)
		if err != nil {
			return err
		}
		defer func() {
			if err := srv.Stop(); err != nil {
				fmt.Fprintf(stdout, "stopping the server: %v\n", err)
			}
		}()
		target = srv.Target(workers)
	}
	_, err = bench.Ingest(ctx, db, target, o, stdout)
	return err
}
