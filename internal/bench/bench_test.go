package bench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"coexhistory/internal/bench"
	"coexhistory/internal/sim"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// BenchmarkSearch is a smoke run of the search benchmark on a tiny corpus (CI runs it with
// -benchtime 1x); `coexhistory bench search` runs the real one.
func BenchmarkSearch(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db := storetest.Open(b, dialect)
			ctx := context.Background()
			opts := bench.Options{Messages: 3000, Threads: 60, Runs: 3}
			for b.Loop() {
				var out bytes.Buffer
				if err := bench.Search(ctx, db, opts, &out); err != nil {
					b.Fatal(err)
				}
				if !strings.Contains(out.String(), "thread page (latest 50)") {
					b.Fatalf("benchmark output lacks the thread page case:\n%s", out.String())
				}
				b.Log("\n" + out.String())
			}
		})
	}
}

func TestEnsureLoadsOnceThenReuses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := sim.Corpus{Messages: 1200, Threads: 30, Numbers: 2, Seed: 7}
		loaded, _, err := bench.Ensure(ctx, db, c, false)
		if err != nil || !loaded {
			t.Fatalf("first Ensure = loaded %v, %v; want loaded", loaded, err)
		}
		threads, messages, err := db.CountThreadsAndMessages(ctx, "")
		if err != nil || threads != 30 || messages != 1200 {
			t.Fatalf("counts = %d threads, %d messages, %v; want 30, 1200", threads, messages, err)
		}
		var rows int
		if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM messages").Scan(&rows); err != nil || rows != 1200 {
			t.Fatalf("message rows = %d, %v; want 1200", rows, err)
		}
		var firstTS, lastTS, minTS, maxTS int64
		err = db.SQL().QueryRowContext(ctx, `SELECT t.first_message_at, t.last_message_at, MIN(m.ts), MAX(m.ts)
			FROM threads t JOIN messages m ON m.thread_id = t.id GROUP BY t.id, t.first_message_at, t.last_message_at ORDER BY t.id LIMIT 1`).
			Scan(&firstTS, &lastTS, &minTS, &maxTS)
		if err != nil || firstTS != minTS || lastTS != maxTS {
			t.Fatalf("thread times %d..%d, messages %d..%d (%v); want equal", firstTS, lastTS, minTS, maxTS, err)
		}
		loaded, _, err = bench.Ensure(ctx, db, c, false)
		if err != nil || loaded {
			t.Fatalf("second Ensure = loaded %v, %v; want reused", loaded, err)
		}
		loaded, _, err = bench.Ensure(ctx, db, c, true)
		if err != nil || !loaded {
			t.Fatalf("Ensure with reload = loaded %v, %v; want loaded", loaded, err)
		}
		if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM messages").Scan(&rows); err != nil || rows != 1200 {
			t.Fatalf("message rows after reload = %d, %v; want 1200", rows, err)
		}
	})
}
