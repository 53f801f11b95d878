package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// Webhooks move a sync run forward; each move is in the audit log, replays add nothing.
func TestSyncStateChangesFromWebhooksAreAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const pnid = "623400011122233"
		if ok, err := db.ClaimSyncRun(ctx, pnid, []string{models.SyncNotRequested}, time.Now()); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		chunk := func(order, progress int) store.ChunkInput {
			return store.ChunkInput{PhoneNumberID: pnid, InboxID: uint64(order), Chunk: coex.Chunk{Phase: 1, ChunkOrder: order, Progress: progress,
				Messages: []coex.Message{{WAMID: "wamid.m" + string(rune('a'+order)), ContactWAID: "5511900000001", Direction: coex.DirectionInbound,
					Type: "text", Text: "oi", Timestamp: int64(100 + order), Origin: coex.OriginHistory}}}}
		}
		for _, in := range []store.ChunkInput{chunk(1, 40), chunk(2, 70), chunk(1, 40), chunk(3, 100)} {
			if _, err := db.ApplyChunk(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.ApplyHistoryErrors(ctx, pnid, []coex.HistoryError{{Code: 2593109}}); err != nil {
			t.Fatal(err)
		}
		entries, err := db.ListAudit(ctx, store.AuditFilter{Action: "sync.state"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(entries) - 1; i >= 0; i-- {
			got = append(got, entries[i].Actor+": "+entries[i].Detail)
		}
		want := []string{
			"webhook: requested → receiving (chunk 1/1, progress 40 %)",
			"webhook: receiving → complete (chunk 1/3, progress 100 %)",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
