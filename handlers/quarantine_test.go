package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// A 2,000-message history chunk with one poisoned message of each kind stores every other
// message (the one with invalid UTF-8 too, with the bytes replaced); the body's inbox row
// names each message that was not read and why, and reprocessing it stores nothing twice.
func TestPoisonedChunkStoresEveryOtherMessage(t *testing.T) {
	const pnid = "623400011122233"
	forty := strings.Repeat("1234567890", 4)
	poisons := map[int]string{
		100:  `{"from":"5511912345678","id":"wamid.P100","timestamp":"99999999999999999999","type":"text","text":{"body":"x"}}`,
		300:  `{"from":"5511912345678","id":"wamid.P300","timestamp":"1760000300","type":"text","text":{"body":"x"},"history_context":{"status":"read","from_me":"sim"}}`,
		500:  `{"from":"5511912345678","timestamp":"1760000500","type":"text","text":{"body":"no id"}}`,
		700:  `{"from":"5511912345678","id":"wamid.P700","timestamp":"1760000700","type":"text","text":{"body":{"nested":true}}}`,
		900:  `{"from":"5511912345678","id":` + forty + `,"timestamp":"1760000900","type":"text","text":{"body":"x"}}`,
		1100: `{"from":"` + forty + `","id":"wamid.P1100","timestamp":"1760001100","type":"text","text":{"body":"x"}}`,
	}
	var msgs []string
	for i := 0; i < 2000; i++ {
		if p, ok := poisons[i]; ok {
			msgs = append(msgs, p)
			continue
		}
		text := fmt.Sprintf("mensagem %d", i)
		if i == 1500 {
			text = "caf\xe9 com p\xe3o" // Latin-1: invalid UTF-8 (MariaDB refused the whole chunk with Error 1366)
		}
		msgs = append(msgs, fmt.Sprintf(`{"from":"5511912345678","id":"wamid.M%d","timestamp":"%d","type":"text","text":{"body":"%s"},"history_context":{"status":"read"}}`,
			i, 1760000000+i, text))
	}
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"810023456789012","changes":[{"field":"history","value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"5511987650000","phone_number_id":"` + pnid + `"},"history":[{"metadata":{"phase":0,"chunk_order":1,"progress":100},` +
		`"threads":[{"id":"5511912345678","messages":[` + strings.Join(msgs, ",") + `]}]}]}}]}]}`)

	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			ctx := context.Background()
			if _, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
				Label: "Doces da Vila", DisplayPhoneNumber: "5511987650000", PhoneNumberID: pnid,
				WABAID: "810023456789012", Provider: "meta", AccessToken: "EAAGtest",
			}); err != nil {
				t.Fatal(err)
			}
			if status, _ := postWebhook(t, app, "/webhooks/whatsapp", body, signed(body)); status != http.StatusOK {
				t.Fatalf("post = %d", status)
			}
			if _, err := app.Services.Ingest.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if threads, n, err := app.DB.CountThreadsAndMessages(ctx, pnid); err != nil || threads != 1 || n != 2000-int64(len(poisons)) {
				t.Fatalf("threads %d messages %d (%v), want 1 and %d", threads, n, err, 2000-len(poisons))
			}
			var text string
			if err := app.DB.SQL().QueryRow("SELECT text FROM messages WHERE wamid = ?", "wamid.M1500").Scan(&text); err != nil || text != "caf\uFFFD com p\uFFFDo" {
				t.Fatalf("text of the invalid UTF-8 message = %q (%v)", text, err)
			}
			var raw string
			if err := app.DB.SQL().QueryRow("SELECT raw FROM messages WHERE wamid = ?", "wamid.M1500").Scan(&raw); err != nil || !utf8.ValidString(raw) || !strings.Contains(raw, "caf\uFFFD") {
				t.Fatalf("raw of the invalid UTF-8 message = %q (%v)", raw, err)
			}
			failed, err := app.DB.ListInbox(ctx, store.InboxFilter{State: models.InboxFailed})
			if err != nil || len(failed) != 1 {
				t.Fatalf("failed rows %+v %v", failed, err)
			}
			for _, want := range []string{"6 item(s) not read", "message 100 (wamid.P100): timestamp", "message 300 (wamid.P300): history_context: from_me",
				"message 500: missing id", "message 700 (wamid.P700): text: body", "message 900: id: want a string", "message 1100 (wamid.P1100): from: too long"} {
				if !strings.Contains(failed[0].Error, want) {
					t.Errorf("inbox error does not say %q:\n%s", want, failed[0].Error)
				}
			}
			admin := app.Login(apptest.AdminEmail)
			if res, page := admin.Get("/admin/inbox?state=failed", nil); res.StatusCode != http.StatusOK || !strings.Contains(page, "wamid.P700") {
				t.Fatalf("inbox page = %d, names the item: %v", res.StatusCode, strings.Contains(page, "wamid.P700"))
			}
			// Reprocess applies the row again: nothing is stored twice.
			if res, _ := admin.PostForm("/admin/inbox/"+strconv.FormatUint(failed[0].ID, 10)+"/reprocess", nil, apptest.HX()); res.StatusCode != http.StatusOK {
				t.Fatalf("reprocess = %d", res.StatusCode)
			}
			if _, err := app.Services.Ingest.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if _, n, _ := app.DB.CountThreadsAndMessages(ctx, pnid); n != 2000-int64(len(poisons)) {
				t.Fatalf("%d messages after reprocess", n)
			}
		})
	}
}
