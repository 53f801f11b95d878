package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// benchChunk is chunk n of a generated sync: 1,000 messages over 50 threads, each thread
// continuing where the previous chunk left it, with realistic text and raw JSON sizes.
func benchChunk(n int) store.ChunkInput {
	const perChunk, threads = 1000, 50
	msgs := make([]coex.Message, perChunk)
	for i := range msgs {
		contact := fmt.Sprintf("5511%09d", (n*7+i%threads)%20000)
		wamid := fmt.Sprintf("wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQj%08d%04d", n, i)
		text := fmt.Sprintf("Olá! Pedido %d-%d confirmado, retirada amanhã às 14h. Obrigado pela preferência.", n, i)
		dir, status := coex.DirectionInbound, "read"
		if i%2 == 0 {
			dir, status = coex.DirectionOutbound, "delivered"
		}
		msgs[i] = coex.Message{
			WAMID: wamid, ContactWAID: contact, Direction: dir, Type: "text", Text: text,
			Timestamp: 1745000000 + int64(n*perChunk+i)*13, Status: status, Origin: coex.OriginHistory, Position: i / threads,
			Raw: []byte(fmt.Sprintf(`{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":%q},"history_context":{"status":%q}}`,
				contact, wamid, 1745000000+int64(n*perChunk+i)*13, text, status)),
		}
	}
	return store.ChunkInput{PhoneNumberID: "623400011122233",
		Chunk: coex.Chunk{Phase: 1, ChunkOrder: n, Progress: 50, ThreadCount: threads, Messages: msgs}}
}

// rawCeiling is what the database takes without the product's logic: the same chunks as
// the ingest's multi-row INSERT … ON DUPLICATE KEY UPDATE (1,000 rows per statement, one transaction
// per chunk) into a scratch copy of the messages table.
func rawCeiling(b *testing.B, db *store.DB) {
	ctx := context.Background()
	sqlDB := db.SQL()
	if _, err := sqlDB.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS bench_ceiling LIKE messages"); err != nil {
		b.Fatal(err)
	}
	// The ingest's own upsert (store.MessageUpsert), into the scratch table.
	stmt := store.MessageUpsert(store.MySQL, "bench_ceiling")(1000)
	chunks := make([][]any, b.N)
	now := time.Now().UTC()
	for n := range chunks {
		in := benchChunk(100000 + n)
		args := make([]any, 0, 21000)
		for i, m := range in.Chunk.Messages {
			args = append(args, in.PhoneNumberID, m.WAMID, n, m.ContactWAID, m.Direction, m.Type, m.Text, m.Timestamp,
				m.Status, m.Origin, false, false, "", "", "", 1, n, i, string(m.Raw), now, now)
		}
		chunks[n] = args
	}
	b.ResetTimer()
	for _, args := range chunks {
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkApplyChunk applies chunks of 1,000 new messages (fresh) and the same chunks
// again (replay, which must write nothing). Run with
//
//	COEX_TEST_MYSQL_URL=mysql://coex:coex@127.0.0.1:3399/ go test ./internal/store -run '^$' -bench ApplyChunk -benchtime 50x
func BenchmarkApplyChunk(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			if dialect == store.MySQL && os.Getenv("COEX_TEST_MYSQL_URL") == "" {
				b.Skip("set COEX_TEST_MYSQL_URL to benchmark MySQL/MariaDB")
			}
			db := storetest.Open(b, dialect)
			ctx := context.Background()
			applied := 0 // chunks stored so far, numbered 0..applied-1
			b.Run("fresh", func(b *testing.B) {
				chunks := make([]store.ChunkInput, b.N)
				for i := range chunks {
					chunks[i] = benchChunk(applied + i)
				}
				b.ResetTimer()
				for i := range b.N {
					res, err := db.ApplyChunk(ctx, chunks[i])
					if err != nil {
						b.Fatal(err)
					}
					if res.Inserted != 1000 {
						b.Fatalf("inserted %d", res.Inserted)
					}
				}
				b.StopTimer()
				applied += b.N
				b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
			})
			b.Run("ceiling", func(b *testing.B) {
				if dialect != store.MySQL {
					b.Skip("the raw ceiling is measured on MySQL/MariaDB")
				}
				rawCeiling(b, db)
			})
			b.Run("replay", func(b *testing.B) {
				if applied == 0 {
					b.Skip("nothing applied")
				}
				chunks := make([]store.ChunkInput, b.N)
				for i := range chunks {
					chunks[i] = benchChunk(i % applied)
				}
				b.ResetTimer()
				for i := range b.N {
					res, err := db.ApplyChunk(ctx, chunks[i])
					if err != nil {
						b.Fatal(err)
					}
					if res.Inserted != 0 || res.Updated != 0 || res.NewChunk {
						b.Fatalf("replay wrote %+v", res)
					}
				}
				b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
			})
		})
	}
}
