package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// Retention removes the bodies of applied webhooks older than COEX_INBOX_RETENTION, and
// only those: the rows and their outcomes stay, failed and unknown-number bodies stay,
// recent ones stay, and a replay of a purged body is still known as a duplicate.
func TestRetentionPurgesOnlyOldAppliedBodies(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{Env: map[string]string{"COEX_INBOX_RETENTION": "720h"}})
			ctx := context.Background()
			if _, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
				Label: "Doces da Vila", DisplayPhoneNumber: "5511987650000", PhoneNumberID: "623400011122233",
				WABAID: "810023456789012", Provider: "meta", AccessToken: "EAAGtest",
			}); err != nil {
				t.Fatal(err)
			}
			live := func(pnid string, n int) []byte {
				return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"display_phone_number":"5511987650000","phone_number_id":"%s"},"messages":[{"from":"5511912345678","id":"wamid.retention%d","timestamp":"1761040000","type":"text","text":{"body":"oi %d"}}]}}]}]}`, pnid, n, n)
			}
			bodies := map[string][]byte{
				"old-done-1": live("623400011122233", 1),
				"old-done-2": live("623400011122233", 2),
				"old-done-3": live("623400011122233", 3),
				"recent":     live("623400011122233", 4),
				"failed":     []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"history","value":{"metadata":{"phone_number_id":"623400011122233"},"history":[{"metadata":{"phase":1,"chunk_order":"x","progress":5},"threads":[]}]}}]}]}`),
				"unknown":    live("623400011199999", 5),
			}
			ids := map[string]uint64{}
			for name, b := range bodies {
				if status, _ := postWebhook(t, app, "/webhooks/whatsapp", b, signed(b)); status != http.StatusOK {
					t.Fatalf("post %s = %d", name, status)
				}
				items, _ := app.DB.ListInbox(ctx, store.InboxFilter{Limit: 1})
				ids[name] = items[0].ID
			}
			if _, err := app.Services.Ingest.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			// Everything but "recent" was processed 40 days ago.
			old := time.Now().UTC().Add(-40 * 24 * time.Hour)
			for name, id := range ids {
				if name != "recent" {
					if _, err := app.DB.SQL().Exec("UPDATE webhook_inbox SET processed_at = ? WHERE id = ?", old, id); err != nil {
						t.Fatal(err)
					}
				}
			}
			before := map[string]models.InboxItem{}
			for name, id := range ids {
				before[name], _ = app.DB.GetInbox(ctx, id)
			}
			if before["failed"].State != models.InboxFailed || before["unknown"].State != models.InboxUnknownNumber || before["old-done-1"].State != models.InboxDone {
				t.Fatalf("states before: %s %s %s", before["failed"].State, before["unknown"].State, before["old-done-1"].State)
			}
			// A small batch size: three rows take two batches.
			n, err := app.DB.PurgeInboxBodies(ctx, time.Now().Add(-30*24*time.Hour), 2)
			if err != nil || n != 2 {
				t.Fatalf("first batch: %d, %v", n, err)
			}
			if n, err := app.Services.PurgeInboxOnce(ctx); err != nil || n != 1 {
				t.Fatalf("purge: %d, %v; want the one left", n, err)
			}
			if n, err := app.Services.PurgeInboxOnce(ctx); err != nil || n != 0 {
				t.Fatalf("second purge: %d, %v", n, err)
			}
			for name, id := range ids {
				it, err := app.DB.GetInbox(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				b := before[name]
				if it.State != b.State || it.Error != b.Error || it.Size != b.Size || it.BodySHA256 != b.BodySHA256 || it.Field != b.Field {
					t.Fatalf("%s: the row changed beyond its body: %+v", name, it)
				}
				purged := strings.HasPrefix(name, "old-done")
				if purged != (it.BodyPurgedAt != nil) || purged != (len(it.Body) == 0) {
					t.Fatalf("%s: purged=%v, body %d bytes, purged at %v", name, purged, len(it.Body), it.BodyPurgedAt)
				}
			}
			// The inbox shows it; reprocessing it is refused; a replay is a duplicate.
			admin := app.Login(apptest.AdminEmail)
			id := strconv.FormatUint(ids["old-done-1"], 10)
			if res, page := admin.Get("/admin/inbox/"+id, nil); res.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="body-purged"`) || strings.Contains(page, "reprocess") {
				t.Fatalf("purged row page: %d\n%.2000s", res.StatusCode, page)
			}
			if res, _ := admin.PostForm("/admin/inbox/"+id+"/reprocess", nil, apptest.HX()); res.StatusCode != http.StatusConflict {
				t.Fatalf("reprocess a purged row = %d, want 409", res.StatusCode)
			}
			rows := inboxCount(t, app.DB)
			b := bodies["old-done-1"]
			if status, _ := postWebhook(t, app, "/webhooks/whatsapp", b, signed(b)); status != http.StatusOK || inboxCount(t, app.DB) != rows {
				t.Fatalf("replay of a purged body: %d, %d rows (was %d)", status, inboxCount(t, app.DB), rows)
			}
		})
	}
}
