package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// The Positus route writes only into numbers registered with Positus; a webhook for a
// number that is not registered (either route) is kept and shown, not applied, and applied
// as soon as the number is registered.
func TestPositusRouteAndUnknownNumbers(t *testing.T) {
	chunk, err := os.ReadFile("../internal/coex/testdata/history-chunk.json")
	if err != nil {
		t.Fatal(err)
	}
	const (
		metaPNID       = "623400011122233" // the fixture's number
		positusPNID    = "623400011122244"
		unknownPNID    = "623400011122255"
		unknownPositus = "623400011122266"
	)
	bodyFor := func(pnid string) []byte { return bytes.ReplaceAll(chunk, []byte(metaPNID), []byte(pnid)) }
	positusPath := "/webhooks/positus/" + apptest.PositusSecret
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			ctx := context.Background()
			for _, in := range []registry.Input{
				{Label: "Meta number", DisplayPhoneNumber: "5511987650000", PhoneNumberID: metaPNID, WABAID: "810023456789012", Provider: "meta", AccessToken: "EAAGtest"},
				{Label: "Positus number", DisplayPhoneNumber: "5511987650001", PhoneNumberID: positusPNID, WABAID: "810023456789013", Provider: "positus", ProviderNumberID: "3f1c2b9a-0000-4000-8000-000000000001", AccessToken: "ptoken"},
			} {
				if _, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, in); err != nil {
					t.Fatal(err)
				}
			}
			post := func(path string, body []byte) uint64 {
				t.Helper()
				h := http.Header{}
				if path == "/webhooks/whatsapp" {
					h = signed(body)
				}
				if status, answer := postWebhook(t, app, path, body, h); status != http.StatusOK {
					t.Fatalf("POST %s = %d %s", path, status, answer)
				}
				items, err := app.DB.ListInbox(ctx, store.InboxFilter{Limit: 1})
				if err != nil || len(items) != 1 {
					t.Fatal(items, err)
				}
				return items[0].ID
			}
			drain := func() {
				t.Helper()
				if _, err := app.Services.Ingest.Drain(ctx); err != nil {
					t.Fatal(err)
				}
			}
			row := func(id uint64) models.InboxItem {
				t.Helper()
				it, err := app.DB.GetInbox(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				return it
			}
			messages := func(pnid string) int {
				t.Helper()
				var n int
				if err := app.DB.SQL().QueryRow("SELECT COUNT(*) FROM messages WHERE phone_number_id = ?", pnid).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}

			// A Positus body naming a Meta number: stored (the route's secret was right), then
			// refused by ingest, kept for staff with the reason, and nothing written.
			refused := post(positusPath, chunk)
			// The same number's own route, and a Positus number on the Positus route, apply.
			viaPositus := post(positusPath, bodyFor(positusPNID))
			// Unknown numbers, on either route.
			unknownMeta := post("/webhooks/whatsapp", bodyFor(unknownPNID))
			unknownPos := post(positusPath, bodyFor(unknownPositus))
			drain()
			if it := row(refused); it.State != models.InboxRefused || !strings.Contains(it.Error, "registered with provider meta") || it.PhoneNumberID != metaPNID {
				t.Fatalf("positus body for a meta number: %s %q %s", it.State, it.Error, it.PhoneNumberID)
			}
			if n := messages(metaPNID); n != 0 {
				t.Fatalf("the positus route wrote %d messages into the meta number", n)
			}
			if it := row(viaPositus); it.State != models.InboxDone || messages(positusPNID) == 0 {
				t.Fatalf("positus body for a positus number: %s, %d messages", it.State, messages(positusPNID))
			}
			for _, id := range []uint64{unknownMeta, unknownPos} {
				if it := row(id); it.State != models.InboxUnknownNumber || !strings.Contains(it.Error, "not registered") {
					t.Fatalf("body for an unknown number: %s %q", it.State, it.Error)
				}
			}
			if messages(unknownPNID)+messages(unknownPositus) != 0 {
				t.Fatal("a body for an unknown number was applied")
			}

			// The inbox page shows them in their own state.
			admin := app.Login(apptest.AdminEmail)
			res, page := admin.Get("/admin/inbox?state=unknown_number", nil)
			if res.StatusCode != http.StatusOK || strings.Count(page, `data-state="unknown_number"`) != 2 || !strings.Contains(page, unknownPNID) {
				t.Fatalf("inbox page: %d\n%.3000s", res.StatusCode, page)
			}
			if _, page := admin.Get("/admin/inbox?state=refused", nil); strings.Count(page, `data-state="refused"`) != 1 || !strings.Contains(page, "registered with provider meta") {
				t.Fatalf("inbox page (refused):\n%.3000s", page)
			}

			// Registering the number through the admin form applies what was kept for it.
			res, _ = admin.PostForm("/numbers", url.Values{"label": {"Late"}, "display_phone_number": {"5511987650002"},
				"phone_number_id": {unknownPNID}, "waba_id": {"810023456789014"}, "provider": {"meta"}, "access_token": {"EAAGlate"}}, nil)
			if res.StatusCode >= 400 {
				t.Fatalf("register: %d", res.StatusCode)
			}
			if it := row(unknownMeta); it.State != models.InboxPending {
				t.Fatalf("after registering: %s", it.State)
			}
			drain()
			if it := row(unknownMeta); it.State != models.InboxDone || messages(unknownPNID) == 0 {
				t.Fatalf("after registering and draining: %s, %d messages", it.State, messages(unknownPNID))
			}
			// A number registered elsewhere (another instance, straight in the database) is
			// picked up by the worker's periodic look.
			if err := app.DB.CreateNumber(ctx, &models.BusinessNumber{Label: "Elsewhere", DisplayPhoneNumber: "5511987650003", PhoneNumberID: unknownPositus,
				WABAID: "810023456789015", Provider: models.ProviderPositus, ProviderNumberID: "3f1c2b9a-0000-4000-8000-000000000002", AccessTokenEnc: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if n, err := app.Services.Ingest.ReleaseRegistered(ctx); err != nil || n != 1 {
				t.Fatalf("release registered: %d, %v", n, err)
			}
			drain()
			if it := row(unknownPos); it.State != models.InboxDone || messages(unknownPositus) == 0 {
				t.Fatalf("after registering elsewhere: %s, %d messages", it.State, messages(unknownPositus))
			}
			if it := row(refused); it.State != models.InboxRefused {
				t.Fatalf("the refused row changed: %s", it.State)
			}
		})
	}
}
