package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"coexhistory/internal/ingest"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// refusingStore answers every chunk with a permanent database error, the way MariaDB refuses
// a value no column can hold.
type refusingStore struct {
	*store.DB
	calls int
}

func (r *refusingStore) ApplyChunk(ctx context.Context, in store.ChunkInput) (store.ChunkResult, error) {
	r.calls++
	return store.ChunkResult{}, fmt.Errorf("apply chunk: %w", &gomysql.MySQLError{Number: 1406, Message: "Data too long for column 'text' at row 1"})
}

// A permanent database error fails the row at once with the error (no retries: the same
// data gives the same error); staff can reprocess it once the cause is fixed.
func TestPermanentDatabaseErrorIsNotRetried(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rs := &refusingStore{DB: e.db}
		w := e.worker(t, rs, ingest.Options{MaxAttempts: 5, RetryDelay: time.Second})
		ids := e.insert(t, example(t, "history-chunk.json"))
		e.drain(t, w)
		row, _ := e.db.GetInbox(ctx, ids[0])
		if row.State != models.InboxFailed || !strings.Contains(row.Error, "1406") || row.Attempts != 1 || rs.calls != 1 {
			t.Fatalf("row = %+v after %d calls, stats %+v", row, rs.calls, w.Stats())
		}
		if s := w.Stats(); s.Retried != 0 || s.Failed != 1 {
			t.Fatalf("stats = %+v", s)
		}
	})
}

// A body whose items cannot all be read stores every other item; its row is failed with
// which items and why, and reprocessing it stores nothing twice.
func TestBodyWithUnreadableItemsStoresTheRest(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + exampleWABA + `","changes":[{"field":"messages","value":{` +
			`"metadata":{"display_phone_number":"` + exampleBusiness + `","phone_number_id":"` + examplePNID + `"},"messages":[` +
			`{"from":"5511912345678","id":"wamid.ok1","timestamp":"1761040000","type":"text","text":{"body":"oi"}},` +
			`{"from":"5511912345678","id":"wamid.bad","timestamp":"1e40","type":"text","text":{"body":"x"}},` +
			`{"from":"5511912345678","id":"wamid.ok2","timestamp":"1761040001","type":"text","text":{"body":"tudo bem?"}}]}}]}]}`)
		ids := e.insert(t, body)
		w := e.worker(t, nil, ingest.Options{})
		e.drain(t, w)
		row, _ := e.db.GetInbox(ctx, ids[0])
		if row.State != models.InboxFailed || !strings.Contains(row.Error, "1 item(s) not read") || !strings.Contains(row.Error, "message 1 (wamid.bad): timestamp") {
			t.Fatalf("row = %+v", row)
		}
		if got := dump(t, e.db, examplePNID); len(got.Messages) != 2 {
			t.Fatalf("stored %d messages, want 2", len(got.Messages))
		}
		if err := e.db.RequeueInbox(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		e.drain(t, w)
		if got := dump(t, e.db, examplePNID); len(got.Messages) != 2 {
			t.Fatalf("after reprocess %d messages, want 2", len(got.Messages))
		}
	})
}
