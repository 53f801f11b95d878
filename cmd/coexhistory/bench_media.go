package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"coexhistory/internal/bench"
	"coexhistory/models"
)

const benchMediaSummary = `Serves 2,000 media files of mixed sizes (about 50 KB images, 300 KB voice notes and a few
16 MB videos; deterministic bytes) from the bundled simulator on a loopback port, and
measures first a plain io.Copy of every file (the media-id lookup, then GET of its URL into
io.Discard), then the whole pipeline of a coexhistory server started as a child process:
live webhooks carrying the media ids → download jobs created at ingest → downloads streamed
to the media storage with their sha256 checked. Prints both throughputs and their ratio,
the server's peak RSS, and the webhook answer times before and during the downloads.

The server uses COEX_DATABASE_URL (default: a SQLite file in a temporary directory) and
COEX_MEDIA_URL (default: a temporary directory); the run's number and rows are deleted at
the end.`

func cmdBenchMedia(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	fs := flags("bench media [flags]", benchMediaSummary, stdout)
	var o bench.MediaOptions
	fs.IntVar(&o.Images, "images", 1700, "images of 30–70 KB")
	fs.IntVar(&o.Voice, "voice", 292, "voice notes of 200–400 KB")
	fs.IntVar(&o.Videos, "videos", 8, "videos of 16 MB")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "downloads at once (default COEX_MEDIA_WORKERS or 4)")
	fs.Int64Var(&o.Seed, "seed", 1, "sizes seed")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
		if v, err := strconv.Atoi(getenv("COEX_MEDIA_WORKERS")); err == nil && v > 0 {
			o.Concurrency = v
		}
	}
	tmp, err := os.MkdirTemp("", "coexhistory-bench-media-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dbURL := getenv("COEX_DATABASE_URL")
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(tmp, "bench.db")
	}
	mediaURL := getenv("COEX_MEDIA_URL")
	if mediaURL == "" {
		mediaURL = filepath.Join(tmp, "media")
	}
	dbEnv := func(k string) string {
		if k == "COEX_DATABASE_URL" {
			return dbURL
		}
		return getenv(k)
	}
	db, err := openConfiguredDB(ctx, dbEnv, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	token, tok, err := authService(db).CreateToken(ctx, "bench-media", models.RoleAdmin, "bench")
	if err != nil {
		return err
	}
	defer func() { _, _ = db.DeleteAPIToken(context.WithoutCancel(ctx), tok.ID) }()

	ms, err := bench.StartMediaSimulator(o)
	if err != nil {
		return err
	}
	defer ms.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary to start the server: %w", err)
	}
	env := append(os.Environ(), "COEX_DATABASE_URL="+dbURL, "COEX_MEDIA_URL="+mediaURL,
		"COEX_GRAPH_BASE_URL="+ms.URL, "COEX_MEDIA_WORKERS="+strconv.Itoa(o.Concurrency))
	srv, err := bench.StartServer(ctx, exe, env)
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(stdout, "stopping the server: %v\n", err)
		}
	}()
	_, err = bench.Media(ctx, db, ms, bench.MediaTarget{URL: srv.URL, AppSecret: srv.AppSecret, AdminToken: token, PeakRSS: srv.PeakRSS}, o, stdout)
	if err != nil {
		return fmt.Errorf("%w\nserver log (%s):\n%s", err, srv.LogPath, srv.LogTail(20))
	}
	return nil
}
