package handlers_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// A body that verifies but does not parse is kept, failed with its error, shown on the
// inbox page with its raw JSON escaped, and can be reprocessed without duplicating anything.
func TestInboxKeepsBadBodiesForInspectionAndReprocess(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			ctx := context.Background()
			if _, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
				Label: "Doces da Vila", DisplayPhoneNumber: "5511987650000", PhoneNumberID: "623400011122233",
				WABAID: "810023456789012", Provider: "meta", AccessToken: "EAAGtest",
			}); err != nil {
				t.Fatal(err)
			}
			bad := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"history","value":{"metadata":{"phone_number_id":"623400011122233"},"history":[{"metadata":{"phase":1,"chunk_order":"<b>x</b>","progress":5},"threads":[]}]}}]}]}`)
			good := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"display_phone_number":"5511987650000","phone_number_id":"623400011122233"},"messages":[{"from":"5511912345678","id":"wamid.live1","timestamp":"1761040000","type":"text","text":{"body":"oi"}}]}}]}]}`)
			for _, b := range [][]byte{bad, good} {
				if status, _ := postWebhook(t, app, "/webhooks/whatsapp", b, signed(b)); status != http.StatusOK {
					t.Fatalf("post = %d", status)
				}
			}
			if _, err := app.Services.Ingest.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			failed, err := app.DB.ListInbox(ctx, store.InboxFilter{State: models.InboxFailed})
			if err != nil || len(failed) != 1 || !strings.Contains(failed[0].Error, "chunk_order") {
				t.Fatalf("failed rows %+v %v", failed, err)
			}
			id := strconv.FormatUint(failed[0].ID, 10)

			admin := app.Login(apptest.AdminEmail)
			res, body := admin.Get("/admin/inbox?state=failed", nil)
			if res.StatusCode != http.StatusOK || strings.Count(body, `data-testid="inbox-row"`) != 1 || !strings.Contains(body, "chunk_order") {
				t.Fatalf("inbox page = %d:\n%.600s", res.StatusCode, body)
			}
			res, body = admin.Get("/admin/inbox/"+id, nil)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, "&lt;b&gt;x&lt;/b&gt;") || strings.Contains(body, "<b>x</b>") {
				t.Fatalf("raw JSON page = %d, escaped=%v", res.StatusCode, strings.Contains(body, "&lt;b&gt;"))
			}
			if res, _ := app.Login(apptest.AgentEmail).Get("/admin/inbox", nil); res.StatusCode != http.StatusForbidden {
				t.Fatalf("agent sees the inbox: %d", res.StatusCode)
			}
			// Reprocess: back to pending, applied again (still failing: the body is bad), never duplicated.
			res, body = admin.PostForm("/admin/inbox/"+id+"/reprocess", nil, apptest.HX())
			if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-state="pending"`) {
				t.Fatalf("reprocess = %d %.300s", res.StatusCode, body)
			}
			if _, err := app.Services.Ingest.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			counts, _ := app.DB.InboxCounts(ctx)
			if counts[models.InboxFailed] != 1 || counts[models.InboxDone] != 1 {
				t.Fatalf("counts after reprocess %v", counts)
			}
			// Reprocessing a done row changes nothing.
			done, _ := app.DB.ListInbox(ctx, store.InboxFilter{State: models.InboxDone})
			admin.PostForm("/admin/inbox/"+strconv.FormatUint(done[0].ID, 10)+"/reprocess", nil, apptest.HX())
			if _, err := app.Services.Ingest.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if _, n, _ := app.DB.CountThreadsAndMessages(ctx, "623400011122233"); n != 1 {
				t.Fatalf("%d messages after reprocessing a done body, want 1", n)
			}
			_, audit := admin.Get("/admin/audit?action=inbox.reprocess", nil)
			if strings.Count(audit, `data-testid="audit-row"`) != 2 {
				t.Fatal("reprocessing is not audited")
			}
		})
	}
}
