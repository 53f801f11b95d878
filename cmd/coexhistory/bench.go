package main

import (
	"context"
	"errors"
	"io"

	"coexhistory/internal/bench"
)

func cmdBench(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	fs := flags("bench search [flags]", "Loads a generated corpus into COEX_DATABASE_URL (once; it stays under its own\nbench-number-N numbers) and prints p50/p95 search and thread-page latencies.", stdout)
	var o bench.Options
	fs.IntVar(&o.Messages, "messages", 0, "messages to load (default 1,000,000 on MySQL, 200,000 on SQLite)")
	fs.IntVar(&o.Threads, "threads", 0, "threads (default messages/50)")
	fs.IntVar(&o.Runs, "runs", 0, "timed runs per case (default 50)")
	fs.Int64Var(&o.Seed, "seed", 0, "generator seed (default 1)")
	fs.BoolVar(&o.Reload, "reload", false, "reload the corpus even if it is already there")
	if len(args) == 0 || args[0] != "search" {
		fs.Usage()
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errors.New("bench needs `search`")
	}
	if help, err := parse(fs, args[1:]); help || err != nil {
		return err
	}
	db, err := openConfiguredDB(ctx, getenv, true)
	if err != nil {
		return err
	}
	defer db.Close()
	return bench.Search(ctx, db, o, stdout)
}
