package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"strconv"
	"time"

	"coexhistory/internal/bench"
)

func cmdBench(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "search":
			return cmdBenchSearch(ctx, args[1:], getenv, stdout)
		case "ingest":
			return cmdBenchIngest(ctx, args[1:], getenv, stdout)
		case "attack":
			return cmdBenchAttack(ctx, args[1:], getenv, stdout)
		case "media":
			return cmdBenchMedia(ctx, args[1:], getenv, stdout)
		}
	}
	fmt.Fprint(stdout, `Usage: coexhistory bench search|ingest|attack|media [flags]

  search   load a generated corpus and measure search and thread-page latency
  ingest   post a generated history sync to a server over HTTP and measure the ingest
  attack   hold the webhook receiver under slow and forged requests and measure what it keeps up
  media    download 2,000 media from the simulator through a server and compare with a plain copy

Run coexhistory bench search --help (or ingest, attack) for the flags.
`)
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		return nil
	}
	return errors.New("bench needs `search`, `ingest` or `attack`")
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
	url := fs.String("url", "", "base URL of a running server to post to instead of starting one, e.g. http://127.0.0.1:8080; several separated by commas share the bodies (retries go to the next)")
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

const benchAttackSummary = `Attacks the webhook receiver on loopback: 400 connections trickle 5 MB bodies with a
bogus signature and 1,000 connections send headers and no body (half announce a 5 MB body,
half never finish their headers), each reconnecting when the server cuts it off. Meanwhile
it samples the server's RSS from /proc every 100 ms, probes /healthz on fresh connections,
and a fifth sender posts signed 3 MB webhooks, retrying after each 503 as Meta does.
Prints the figures next to the targets (RSS ≤ 256 MB, /healthz p95 ≤ 100 ms, every signed
webhook answered within 1 s and stored) and fails when one is missed.

Without --url it runs ` + "`migrate up`" + ` on COEX_DATABASE_URL and starts this binary's ` + "`serve`" + ` as a
child process on a free loopback port with fresh secrets. With --url it attacks that server
(its database must be COEX_DATABASE_URL; its RSS is not measured). The signed webhooks'
inbox rows are deleted at the end unless --keep.`

func cmdBenchAttack(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	fs := flags("bench attack [flags]", benchAttackSummary, stdout)
	var o bench.AttackOptions
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long the attack lasts")
	fs.IntVar(&o.Tricklers, "tricklers", 400, "connections trickling 5 MB bodies with a bogus signature")
	fs.IntVar(&o.TrickleRate, "trickle-rate", 2000, "bytes per second each trickling connection sends")
	fs.IntVar(&o.HeaderOnly, "header-only", 1000, "connections sending headers and no body")
	fs.IntVar(&o.Signed, "signed", 20, "signed webhooks the fifth sender delivers")
	fs.Float64Var(&o.SignedMB, "signed-mb", 3, "size of each signed webhook in MB")
	fs.DurationVar(&o.RetryAfter, "retry-after", 250*time.Millisecond, "the fifth sender's wait after a 503")
	fs.BoolVar(&o.Keep, "keep", false, "leave the signed webhooks' inbox rows in the database")
	url := fs.String("url", "", "base URL of a running server to attack instead of starting one (loopback only)")
	appSecret := fs.String("app-secret", "", "with --url: the server's COEX_APP_SECRET (default $COEX_APP_SECRET)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if o.Tricklers == 0 {
		o.Tricklers = -1
	}
	if o.HeaderOnly == 0 {
		o.HeaderOnly = -1
	}
	if *url != "" {
		if err := loopbackURL(*url); err != nil {
			return err
		}
		if *appSecret == "" {
			*appSecret = getenv("COEX_APP_SECRET")
		}
		if *appSecret == "" {
			return errors.New("--url needs --app-secret (or COEX_APP_SECRET): the fifth sender signs its webhooks with the server's secret")
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
	target := bench.AttackTarget{URL: *url, AppSecret: *appSecret}
	if *url == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary to start the server: %w", err)
		}
		env := os.Environ()
		if getenv("COEX_DATABASE_URL") != "" {
			env = append(env, "COEX_DATABASE_URL="+getenv("COEX_DATABASE_URL"))
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
		target = srv.AttackTarget()
	}
	_, err = bench.Attack(ctx, db, target, o, stdout)
	return err
}

// loopbackURL refuses a URL whose host is not a loopback address: the attack is only ever
// aimed at a server on this machine.
func loopbackURL(raw string) error {
	u, err := neturl.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("--url %q: not a URL", raw)
	}
	if u.Hostname() == "localhost" {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--url %q: the attack only targets a loopback address (127.0.0.0/8, ::1, localhost)", raw)
	}
	return nil
}
