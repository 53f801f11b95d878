package ingest_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"coexhistory/internal/ingest"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// BenchmarkWorkerDrain measures the worker end to end from stored inbox rows: claim, parse,
// apply and complete, for history bodies of one 1,000-message chunk each, with two rows in
// flight. Run with
//
//	COEX_TEST_MYSQL_URL=mysql://coex:coex@127.0.0.1:3399/ go test ./internal/ingest -run '^$' -bench WorkerDrain -benchtime 40x
func BenchmarkWorkerDrain(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			if dialect == store.MySQL && os.Getenv("COEX_TEST_MYSQL_URL") == "" {
				b.Skip("set COEX_TEST_MYSQL_URL to benchmark MySQL/MariaDB")
			}
			db := storetest.Open(b, dialect)
			ctx := context.Background()
			// b.N bodies of 1,000 messages: 20 threads × 50 messages, one chunk per body.
			history := synthHistory(uint64(b.N), 20*b.N, 50)
			for i := range b.N {
				part := history[i*1000 : (i+1)*1000]
				for j := range part {
					part[j].Phase = 1
				}
				c := chunkHistory(part, 1000, i+1)
				if _, _, err := db.InsertInbox(ctx, "meta", historyBody(fmt.Sprint(b.N), exampleBusiness, c...)); err != nil {
					b.Fatal(err)
				}
			}
			w := ingest.New(db, nil, ingest.Options{Concurrency: 2})
			b.ResetTimer()
			n, err := w.Drain(ctx)
			if err != nil || n != b.N {
				b.Fatalf("drained %d rows, %v", n, err)
			}
			b.StopTimer()
			counts, _ := db.InboxCounts(ctx)
			if counts[models.InboxDone] != b.N || w.Stats().Messages != int64(b.N*1000) {
				b.Fatalf("counts %v, stats %+v", counts, w.Stats())
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
