package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// Through the receiver: a customer known only by a username has a conversation of its own,
// shown as @username with the full user id on hover and listed by the API with
// contact_wa_id "" and its contact_user_id; a later payload giving both identifiers merges
// it into the phone number's conversation, once.
func TestUsernameContactThroughTheReceiver(t *testing.T) {
	const (
		pnid  = "623400011122233"
		bsuid = "user.9373795779eb4c1d2e3f4a5b6c7d8e9f"
		phone = "5511944443333"
	)
	value := func(v string) []byte {
		return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"810023456789012","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
			`"metadata":{"display_phone_number":"5511987650000","phone_number_id":"` + pnid + `"},` + v + `}}]}]}`)
	}
	onlyBSUID := value(`"contacts":[{"wa_id":"","user_id":"` + bsuid + `","profile":{"name":"","username":"padaria.lu"}}],` +
		`"messages":[{"from":"","from_user_id":"` + bsuid + `","id":"wamid.u1","timestamp":"1761000000","type":"text","text":{"body":"Vocês entregam hoje?"}}]`)
	both := value(`"contacts":[{"wa_id":"` + phone + `","user_id":"` + bsuid + `","profile":{"name":"","username":"padaria.lu"}}],` +
		`"messages":[{"from":"` + phone + `","from_user_id":"` + bsuid + `","id":"wamid.u2","timestamp":"1761000100","type":"text","text":{"body":"É o mesmo número"}}]`)

	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			ctx := context.Background()
			num, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
				Label: "Doces da Vila", DisplayPhoneNumber: "5511987650000", PhoneNumberID: pnid,
				WABAID: "810023456789012", Provider: "meta", AccessToken: "EAAGtest",
			})
			if err != nil {
				t.Fatal(err)
			}
			post := func(b []byte) {
				if status, _ := postWebhook(t, app, "/webhooks/whatsapp", b, signed(b)); status != http.StatusOK {
					t.Fatalf("post = %d", status)
				}
				if _, err := app.Services.Ingest.Drain(ctx); err != nil {
					t.Fatal(err)
				}
			}
			type thread struct {
				ID              uint64 `json:"id"`
				ContactWAID     string `json:"contact_wa_id"`
				ContactUserID   string `json:"contact_user_id"`
				ContactUsername string `json:"contact_username"`
				MessageCount    int    `json:"message_count"`
			}
			threads := func() []thread {
				res, body := app.API(http.MethodGet, "/api/v1/threads?phone_number_id="+pnid, app.Token(models.RoleAdmin), nil)
				var page struct {
					Data []thread `json:"data"`
				}
				if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &page) != nil {
					t.Fatalf("threads API = %d %s", res.StatusCode, body)
				}
				return page.Data
			}

			post(onlyBSUID)
			got := threads()
			if len(got) != 1 || got[0].ContactWAID != "" || got[0].ContactUserID != bsuid || got[0].ContactUsername != "padaria.lu" || got[0].MessageCount != 1 {
				t.Fatalf("threads = %+v", got)
			}
			agent := app.Login(apptest.AgentEmail)
			_, list := agent.Get("/numbers/"+itoa(num.ID)+"/threads", nil)
			if !strings.Contains(list, `title="`+bsuid+`"`) || !strings.Contains(list, "@padaria.lu") || strings.Contains(list, "+u:") {
				t.Fatalf("thread list does not show the username contact:\n%.2000s", list)
			}
			_, page := agent.Get("/threads/"+itoa(got[0].ID), nil)
			if !strings.Contains(page, `data-testid="thread-title" title="`+bsuid+`">@padaria.lu<`) {
				t.Fatalf("thread page title:\n%.1500s", page)
			}

			post(both)
			post(both) // a repeated link merges nothing twice
			got = threads()
			if len(got) != 1 || got[0].ContactWAID != phone || got[0].ContactUserID != bsuid || got[0].MessageCount != 2 {
				t.Fatalf("after the link: threads = %+v", got)
			}
		})
	}
}
