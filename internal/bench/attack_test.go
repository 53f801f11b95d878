package bench_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/bench"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// TestAttackSmoke runs a small attack against a child server: the trickled bodies are cut
// off, the signed webhooks are all stored, RSS and /healthz are measured, and the signed
// webhooks' rows are gone afterwards.
func TestAttackSmoke(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	url := storetest.URL(t, store.SQLite)
	ctx := context.Background()
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := bench.StartServer(ctx, exe, append(os.Environ(), serveEnv+"=1", "COEX_DATABASE_URL="+url))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	var out bytes.Buffer
	opts := bench.AttackOptions{Duration: 7 * time.Second, Tricklers: 20, HeaderOnly: 20, Signed: 3, SignedMB: 0.2}
	r, err := bench.Attack(ctx, db, srv.AttackTarget(), opts, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("%v\nserver log:\n%s", err, srv.LogTail(20))
	}
	if r.SignedStored != 3 || len(r.TrickleCutoffs) < 20 || len(r.HeaderClosed) < 20 || r.MaxRSS < 1<<20 || len(r.Healthz) < 10 {
		t.Errorf("stored %d, %d trickles and %d header-only cut off, RSS %d, %d probes", r.SignedStored, len(r.TrickleCutoffs), len(r.HeaderClosed), r.MaxRSS, len(r.Healthz))
	}
	if r.TrickleStatus[408] == 0 {
		t.Errorf("trickled bodies answered %v; want 408s", r.TrickleStatus)
	}
	for _, want := range []string{"server RSS", "/healthz", "signed webhooks"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	var left int
	if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_inbox").Scan(&left); err != nil || left != 0 {
		t.Errorf("inbox rows left after the run: %d, %v", left, err)
	}
}
