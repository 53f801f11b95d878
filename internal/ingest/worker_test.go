package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/ingest"
	"coexhistory/internal/store"
	"coexhistory/models"
)

var exampleFiles = []string{
	"smb-app-state-sync.json",
	"history-chunk.json",
	"history-media-update.json",
	"smb-message-echoes.json",
	"smb-message-echoes-edit.json",
	"messages-live.json",
	"history-declined.json",
	"account-update.json",
	"unknown-field.json",
}

// wantExamples is what the example payloads give, whatever their order.
var wantExamples = snapshot{
	Threads: []threadRow{
		{"5511912345678", "Mariana Costa Ribeiro", 10, 1760954100, 1761043101}, // 11 messages, one a reaction shown on its message
		{"5521998877665", "Seu Jorge (fornecedor)", 4, 1758361290, 1761043155},
	},
	Messages: []messageRow{
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjA5QTdGQzE0RDJBOEU0NjExAA==", "inbound", "text", "Oi! Vocês ainda têm o bolo de cenoura para sábado?", "read", "history", "", "", "", 1760954100, false, false},
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjlDMkU3RjQ0QjAxNUE2RDMwMgA=", "outbound", "text", "Temos sim! Separo um para você? Retirada até as 14h.", "read", "history", "", "", "", 1760954187, false, false},
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjBBMUIyQzNENEU1RjYwNzA4AA==", "inbound", "image", "foto do pedido", "read", "history", "1184736629105523", "image/jpeg", "", 1760954402, false, false},
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjA3RDY1QTk4MjFCQzQ0RjE5AA==", "inbound", "reaction", "\u2764\ufe0f", "read", "history", "", "", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjlDMkU3RjQ0QjAxNUE2RDMwMgA=", 1760954455, false, false},
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjRBMEQ5QzEyRTc3QjM1RjhEMQA=", "outbound", "location", "Doces da Vila — Av. Paulista, 1000 - Bela Vista, São Paulo", "delivered", "history", "", "", "", 1760954520, false, false},
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjFBQzNFNTc5QjJENEY2ODAxQwA=", "outbound", "text", "Bom dia, Mariana! Seu bolo já está pronto para retirada até as 14h.", "", "echo", "", "", "", 1761040233, true, true},
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjdEMkI5RjAwQTFDNDQzRTg1NgA=", "outbound", "image", "Olha como ficou", "", "echo", "2093847561029384", "image/jpeg", "", 1761040251, false, false},
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjA3RjJCOEU0RDFDNkE5MzA1QgA=", "outbound", "document", "nf-4471.pdf — Nota fiscal", "", "echo", "3948571029384756", "application/pdf", "", 1761040460, false, false},
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjBDNzE4QUE5RjIwQjQ1RDcwAA==", "inbound", "text", "Chego às 13h para buscar, pode ser?", "", "live", "", "", "", 1761043010, false, false},
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjBENjYxMEYyQTc3QjlDODE0AA==", "inbound", "unsupported", "Message type is currently not supported. — Message type is not currently supported", "", "live", "", "", "", 1761043022, false, false},
		// Known only from its statuses: sent through the API by another system.
		{"5511912345678", "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjI1QkE4RTNDMDc5RjFBNjREMQA=", "outbound", "unknown", "", "read", "api", "", "", "", 1761043101, false, false},
		{"5521998877665", "wamid.HBgNNTUyMTk5ODg3NzY2NRUCABEYEkI3RjAxQzlEMkE0RTY1QzgzMAA=", "outbound", "media_placeholder", "", "played", "history", "", "", "", 1758361290, false, false},
		{"5521998877665", "wamid.HBgNNTUyMTk5ODg3NzY2NRUCABIYFjNFQjBGMjI5OEE3QzE0NUQ2QjNBAA==", "inbound", "text", "Ouvi o áudio, fechado então. Obrigado!", "read", "history", "", "", "", 1758361544, false, false},
		{"5521998877665", "wamid.HBgNNTUyMTk5ODg3NzY2NRUCABEYEjVFNkExMDBDNDdCOTIyRDQ0RQA=", "outbound", "text", "Nós que agradecemos. Pedido #4471 confirmado.", "sent", "history", "", "", "", 1758361702, false, false},
		{"5521998877665", "wamid.HBgNNTUyMTk5ODg3NzY2NRUCABEYEjdBQjQ5MEUxRjI4QzM1RDA2OQA=", "outbound", "unknown", "", "error", "api", "", "", "", 1761043155, false, false},
	},
	Run: "declined 42",
}

func TestExamplePayloadsInAnyOrder(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		bodies := make([][]byte, len(exampleFiles))
		for i, f := range exampleFiles {
			bodies[i] = example(t, f)
		}
		r := rand.New(rand.NewPCG(7, 7))
		for run := range 4 {
			e.reset(t)
			n := models.BusinessNumber{Label: "Doces da Vila", DisplayPhoneNumber: exampleBusiness, PhoneNumberID: examplePNID,
				WABAID: exampleWABA, Provider: models.ProviderMeta, AccessTokenEnc: []byte{1}, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
			_, _ = e.db.SQL().Exec("DELETE FROM business_numbers")
			if err := e.db.CreateNumber(ctx, &n); err != nil {
				t.Fatal(err)
			}
			order := r.Perm(len(bodies))
			if run == 0 {
				for i := range order {
					order[i] = i
				}
			}
			for _, i := range order {
				e.insert(t, bodies[i])
			}
			w := e.worker(t, nil, ingest.Options{Concurrency: 1 + run%3})
			if got := e.drain(t, w); got != len(bodies) {
				t.Fatalf("processed %d rows, want %d", got, len(bodies))
			}
			if c := e.counts(t); c[models.InboxDone] != len(bodies) {
				t.Fatalf("inbox counts = %v", c)
			}
			sameSnapshot(t, fmt.Sprintf("order %v", order), dump(t, e.db, examplePNID), wantExamples)

			num, _ := e.db.NumberByPhoneNumberID(ctx, examplePNID)
			if num.AccountState != models.AccountReconnected {
				t.Fatalf("account state = %s", num.AccountState)
			}
			evs, _ := e.db.MessageEvents(ctx, examplePNID, "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjI1QkE4RTNDMDc5RjFBNjREMQA=")
			if len(evs) != 2 || evs[0].DeliveryStatus != "delivered" || evs[1].DeliveryStatus != "read" {
				t.Fatalf("status events = %+v", evs)
			}
			items, _ := e.db.ListInbox(ctx, store.InboxFilter{Field: "business_capability_update"})
			if len(items) != 1 || items[0].State != models.InboxDone || !strings.Contains(items[0].Error, "unknown field") {
				t.Fatalf("unknown field row = %+v", items)
			}
			stats := w.Stats()
			if stats.Processed != int64(len(bodies)) || stats.Failed != 0 {
				t.Fatalf("stats = %+v", stats)
			}
		}

		// Reprocessing every row changes nothing.
		items, _ := e.db.ListInbox(ctx, store.InboxFilter{Limit: 100})
		for _, it := range items {
			if err := e.db.RequeueInbox(ctx, it.ID); err != nil {
				t.Fatal(err)
			}
		}
		e.drain(t, e.worker(t, nil, ingest.Options{}))
		sameSnapshot(t, "after reprocessing", dump(t, e.db, examplePNID), wantExamples)
	})
}

func TestHistoryIsTheSameInAnyOrderDuplicatedAndRebatched(t *testing.T) {
	const pnid = "100200300400500"
	history := synthHistory(42, 14, 30) // 420 messages
	inOrder := bodiesOf(pnid, chunkHistory(history, 25, 1), 1)

	each(t, func(t *testing.T, e *env) {
		e.insert(t, inOrder...)
		e.drain(t, e.worker(t, nil, ingest.Options{Concurrency: 1}))
		want := dump(t, e.db, pnid)
		if len(want.Messages) != len(history) || len(want.Threads) != 14 || want.Run != "complete 100" {
			t.Fatalf("in order: %d messages, %d threads, run %q", len(want.Messages), len(want.Threads), want.Run)
		}
		for _, th := range want.Threads {
			if th.Count != 30 {
				t.Fatalf("thread %s has %d messages, want 30", th.Contact, th.Count)
			}
		}
		replayChunks := countTable(t, e.db, "history_chunks")

		r := rand.New(rand.NewPCG(1, 99))
		scenarios := []struct {
			name   string
			bodies func() [][]byte
		}{
			{"shuffled with redeliveries", func() [][]byte {
				var out [][]byte
				for i, b := range inOrder {
					out = append(out, b)
					if i%3 == 0 {
						out = append(out, redelivered(b, i))
					}
				}
				r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
				return out
			}},
			{"phase 0 first (progress 100 before the rest)", func() [][]byte {
				out := append([][]byte(nil), inOrder...)
				for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
					out[i], out[j] = out[j], out[i]
				}
				return out
			}},
			{"re-batched: other chunk sizes, several chunks per body", func() [][]byte {
				out := bodiesOf(pnid, chunkHistory(history, 41, 1), 3)
				r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
				return out
			}},
			{"two batchings mixed, one with older statuses", func() [][]byte {
				out := append(bodiesOf(pnid, chunkHistory(withOlderStatuses(history), 17, 1), 2), inOrder...)
				r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
				return out
			}},
		}
		for _, sc := range scenarios {
			e.reset(t)
			bodies := sc.bodies()
			e.insert(t, bodies...)
			// Two workers at once, several rows each in flight: chunks of the same threads
			// are applied concurrently.
			var wg sync.WaitGroup
			for range 2 {
				w := e.worker(t, nil, ingest.Options{Concurrency: 3, BatchSize: 3})
				wg.Go(func() {
					if _, err := w.Drain(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if c := e.counts(t); c[models.InboxDone] != len(bodies) {
				t.Fatalf("%s: inbox counts = %v", sc.name, c)
			}
			sameSnapshot(t, sc.name, dump(t, e.db, pnid), want)
		}

		// A full replay of the finished sync adds nothing.
		e.reset(t)
		e.insert(t, inOrder...)
		e.drain(t, e.worker(t, nil, ingest.Options{}))
		for i, b := range inOrder {
			e.insert(t, redelivered(b, i))
		}
		before := countTable(t, e.db, "messages")
		e.drain(t, e.worker(t, nil, ingest.Options{Concurrency: 4}))
		if after := countTable(t, e.db, "messages"); after != before || countTable(t, e.db, "history_chunks") != replayChunks {
			t.Fatalf("replay: messages %d → %d, chunks %d", before, after, countTable(t, e.db, "history_chunks"))
		}
		sameSnapshot(t, "replay", dump(t, e.db, pnid), want)
	})
}

// withOlderStatuses returns a copy of h where every other message reports an earlier
// status ("sent" where it was delivered, read or played): a stale snapshot of the same history.
func withOlderStatuses(h []synthMessage) []synthMessage {
	out := append([]synthMessage(nil), h...)
	for i := range out {
		if i%2 == 0 && coex.StatusRank(out[i].Status) > coex.StatusRank(coex.StatusSent) && coex.NormalizeStatus(out[i].Status) != coex.StatusError {
			out[i].Status = "SENT"
		}
	}
	return out
}

func countTable(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCrashedWorkerLosesAndDuplicatesNothing(t *testing.T) {
	const pnid = "100200300400501"
	history := synthHistory(5, 4, 20)
	chunks := chunkHistory(history, 15, 1)
	body := historyBody(pnid, exampleBusiness, chunks...) // every chunk in one body

	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.insert(t, body)
		// A worker claims the row, applies the first chunks and dies before finishing.
		items, err := e.db.ClaimInbox(ctx, "crashed-worker", 2*time.Minute, 10)
		if err != nil || len(items) != 1 {
			t.Fatalf("claim = %v, %v", items, err)
		}
		batch, err := coex.Parse(items[0].Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range batch.Changes[0].Chunks[:2] {
			if _, err := e.db.ApplyChunk(ctx, store.ChunkInput{PhoneNumberID: pnid, InboxID: items[0].ID, Chunk: c}); err != nil {
				t.Fatal(err)
			}
		}
		w := e.worker(t, nil, ingest.Options{})
		if n := e.drain(t, w); n != 0 {
			t.Fatalf("processed %d rows while the lease was alive", n)
		}
		e.clock.Advance(2*time.Minute + time.Second)
		if n := e.drain(t, w); n != 1 {
			t.Fatalf("processed %d rows after the lease expired, want 1", n)
		}
		got := dump(t, e.db, pnid)
		if len(got.Messages) != len(history) || got.Run != "complete 100" || countTable(t, e.db, "history_chunks") != len(chunks) {
			t.Fatalf("after recovery: %d messages (want %d), run %q, %d chunks", len(got.Messages), len(history), got.Run, countTable(t, e.db, "history_chunks"))
		}
		row, _ := e.db.GetInbox(ctx, items[0].ID)
		if row.State != models.InboxDone || row.Attempts != 2 || row.Field != "history" || row.PhoneNumberID != pnid {
			t.Fatalf("inbox row = %+v", row)
		}
	})
}

func TestMalformedBodyIsKeptFailedWithItsError(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ids := e.insert(t, example(t, "malformed.json"), example(t, "history-chunk.json"))
		w := e.worker(t, nil, ingest.Options{})
		e.drain(t, w)
		bad, _ := e.db.GetInbox(ctx, ids[0])
		if bad.State != models.InboxFailed || !strings.HasPrefix(bad.Error, "parse: ") || string(bad.Body) != string(example(t, "malformed.json")) {
			t.Fatalf("malformed row = %+v", bad)
		}
		good, _ := e.db.GetInbox(ctx, ids[1])
		if good.State != models.InboxDone {
			t.Fatalf("good row = %+v", good)
		}
		if s := w.Stats(); s.Failed != 1 || s.Processed != 1 || s.Messages != 8 {
			t.Fatalf("stats = %+v", s)
		}
		// Reprocessing it gives the same failure and stores nothing.
		before := dump(t, e.db, examplePNID)
		if err := e.db.RequeueInbox(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		e.drain(t, w)
		again, _ := e.db.GetInbox(ctx, ids[0])
		if again.State != models.InboxFailed || again.Error != bad.Error {
			t.Fatalf("reprocessed malformed row = %+v", again)
		}
		sameSnapshot(t, "after reprocessing the malformed row", dump(t, e.db, examplePNID), before)
	})
}

// flakyStore fails or panics on chosen calls, to test the worker's error paths.
type flakyStore struct {
	*store.DB
	chunkFailures atomic.Int64 // ApplyChunk fails while > 0
	panicContacts atomic.Bool
}

func (f *flakyStore) ApplyChunk(ctx context.Context, in store.ChunkInput) (store.ChunkResult, error) {
	if f.chunkFailures.Add(-1) >= 0 {
		return store.ChunkResult{}, errors.New("connection refused")
	}
	return f.DB.ApplyChunk(ctx, in)
}

func (f *flakyStore) ApplyContacts(ctx context.Context, pnid string, cs []coex.ContactChange) error {
	if f.panicContacts.Load() {
		var m map[string]int
		m["boom"]++ // a bug: nil map write
	}
	return f.DB.ApplyContacts(ctx, pnid, cs)
}

func TestApplyErrorsAreRetriedThenFailedAndRequeueFixes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fs := &flakyStore{DB: e.db}
		fs.chunkFailures.Store(1)
		w := e.worker(t, fs, ingest.Options{MaxAttempts: 2, RetryDelay: time.Second})
		ids := e.insert(t, example(t, "history-chunk.json"))

		// Attempt 1 fails: handed back, not claimable for RetryDelay.
		if n := e.drain(t, w); n != 1 {
			t.Fatalf("processed %d", n)
		}
		row, _ := e.db.GetInbox(ctx, ids[0])
		if row.State != models.InboxProcessing || !strings.Contains(row.Error, "connection refused") || w.Stats().Retried != 1 {
			t.Fatalf("after a failed apply: %+v, stats %+v", row, w.Stats())
		}
		if n := e.drain(t, w); n != 0 {
			t.Fatalf("retried before the delay: %d", n)
		}
		// Attempt 2 succeeds once the delay has passed.
		e.clock.Advance(2 * time.Second)
		e.drain(t, w)
		row, _ = e.db.GetInbox(ctx, ids[0])
		if row.State != models.InboxDone || row.Error != "" {
			t.Fatalf("after the retry: %+v", row)
		}

		// A row that keeps failing ends failed after MaxAttempts; once fixed, reprocess applies it.
		fs.chunkFailures.Store(100)
		id2 := e.insert(t, historyBody("100200300400502", exampleBusiness, chunkHistory(synthHistory(3, 2, 5), 10, 1)...))[0]
		for range 3 {
			e.drain(t, w)
			e.clock.Advance(time.Minute)
		}
		row, _ = e.db.GetInbox(ctx, id2)
		if row.State != models.InboxFailed || !strings.Contains(row.Error, "connection refused") || row.Attempts != 2 {
			t.Fatalf("after MaxAttempts: %+v", row)
		}
		fs.chunkFailures.Store(0)
		if err := e.db.RequeueInbox(ctx, id2); err != nil {
			t.Fatal(err)
		}
		e.drain(t, w)
		row, _ = e.db.GetInbox(ctx, id2)
		if got := dump(t, e.db, "100200300400502"); row.State != models.InboxDone || len(got.Messages) != 10 {
			t.Fatalf("after the fix: %+v, %d messages", row, len(got.Messages))
		}
	})
}

func TestPanicFailsTheRowAndTheWorkerGoesOn(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fs := &flakyStore{DB: e.db}
		fs.panicContacts.Store(true)
		ids := e.insert(t, example(t, "smb-app-state-sync.json"), example(t, "history-chunk.json"))
		w := e.worker(t, fs, ingest.Options{Concurrency: 1})
		e.drain(t, w)
		row, _ := e.db.GetInbox(ctx, ids[0])
		if row.State != models.InboxFailed || !strings.HasPrefix(row.Error, "panic: assignment to entry in nil map") {
			t.Fatalf("panicking row = %+v", row)
		}
		row, _ = e.db.GetInbox(ctx, ids[1])
		if row.State != models.InboxDone {
			t.Fatalf("next row = %+v", row)
		}
	})
}

func TestHistoryChangeWithoutPhoneNumberIDFails(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"history","value":{"history":[{"metadata":{"phase":0,"chunk_order":1,"progress":100},"threads":[{"id":"551100","messages":[{"from":"551100","id":"wamid.X","timestamp":"1","type":"text","text":{"body":"x"}}]}]}]}}]}]}`)
		ids := e.insert(t, body)
		e.drain(t, e.worker(t, nil, ingest.Options{}))
		row, _ := e.db.GetInbox(context.Background(), ids[0])
		if row.State != models.InboxFailed || !strings.Contains(row.Error, "phone_number_id") {
			t.Fatalf("row = %+v", row)
		}
	})
}

func TestRunProcessesUntilCancelled(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithCancel(context.Background())
		w := e.worker(t, nil, ingest.Options{Concurrency: 3, PollInterval: time.Hour})
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()

		for i, f := range exampleFiles {
			e.insert(t, example(t, f))
			if i%3 == 0 {
				w.Notify()
			}
		}
		w.Notify()
		deadline := time.Now().Add(10 * time.Second)
		for e.counts(t)[models.InboxDone] != len(exampleFiles) {
			if time.Now().After(deadline) {
				t.Fatalf("inbox counts = %v", e.counts(t))
			}
			time.Sleep(10 * time.Millisecond)
			w.Notify()
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		got := dump(t, e.db, examplePNID)
		if len(got.Messages) != len(wantExamples.Messages) {
			t.Fatalf("%d messages, want %d", len(got.Messages), len(wantExamples.Messages))
		}
	})
}

func TestApplyingWaitsForWebhooksBeingReceived(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		inFlight := ingest.NewPacer(time.Minute)
		w := e.worker(t, nil, ingest.Options{Yield: inFlight.Wait})
		e.insert(t, example(t, exampleFiles[0]))
		received := inFlight.Begin()
		processed := make(chan int, 1)
		go func() {
			n, _ := w.ProcessOnce(ctx)
			processed <- n
		}()
		select {
		case <-processed:
			t.Fatal("a row was applied while a webhook was being received")
		case <-time.After(300 * time.Millisecond):
		}
		if c := e.counts(t); c[models.InboxDone] != 0 {
			t.Fatalf("inbox counts while receiving = %v, want nothing done", c)
		}
		received()
		received() // a second call changes nothing
		select {
		case n := <-processed:
			if n != 1 {
				t.Fatalf("processed %d rows, want 1", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the row was not applied once the webhook was received")
		}

		// A receipt that never ends delays a row by the wait's limit, not for ever.
		inFlight = ingest.NewPacer(50 * time.Millisecond)
		w = e.worker(t, nil, ingest.Options{Yield: inFlight.Wait})
		_ = inFlight.Begin()
		e.insert(t, example(t, exampleFiles[1]))
		if n, err := w.ProcessOnce(ctx); err != nil || n != 1 {
			t.Fatalf("ProcessOnce = %d, %v; want 1 row", n, err)
		}
		if c := e.counts(t); c[models.InboxDone] != 2 {
			t.Fatalf("inbox counts = %v, want 2 done", c)
		}
	})
}
