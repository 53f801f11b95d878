package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
	"coexhistory/internal/registry"
)

// TestBrowserUsernameContact: a customer known only by a username (no phone number, as
// WhatsApp sends once usernames are on) is listed as @username with the full user id on
// hover, and their conversation opens with that title and their message.
func TestBrowserUsernameContact(t *testing.T) {
	const (
		pnid  = "623400011122233"
		bsuid = "user.4f1c2a9d8e7b6c5a4f3e2d1c0b9a8f7e"
	)
	app := apptest.New(t, "mysql", apptest.Options{})
	ctx := context.Background()
	if _, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
		Label: "Doces da Vila", DisplayPhoneNumber: "5511987650000", PhoneNumberID: pnid,
		WABAID: "810023456789012", Provider: "meta", AccessToken: "EAAGtest",
	}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"810023456789012","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"5511987650000","phone_number_id":"` + pnid + `"},` +
		`"contacts":[{"wa_id":"","user_id":"` + bsuid + `","profile":{"name":"","username":"padaria.lu"}}],` +
		`"messages":[{"from":"","from_user_id":"` + bsuid + `","id":"wamid.u1","timestamp":"1761000000","type":"text","text":{"body":"Vocês entregam hoje?"}}]}}]}]}`)
	if status, _ := postWebhook(t, app, "/webhooks/whatsapp", body, signed(body)); status != http.StatusOK {
		t.Fatalf("post = %d", status)
	}
	if _, err := app.Services.Ingest.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)
	row := `[data-testid="conversation"]`
	b.Run(
		chromedp.Navigate(app.Server.URL+"/conversations"),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	if got := b.Text(row + ` [data-testid="conversation-contact"]`); got != "@padaria.lu" {
		t.Fatalf("listed as %q, want @padaria.lu", got)
	}
	if got := browsertest.Get(b, chromedp.Evaluate[string](`document.querySelector('[data-testid="conversation-contact"]').title`)); got != bsuid {
		t.Fatalf("hover %q, want the user id", got)
	}
	b.Run(
		chromedp.Click(chromedp.CSS(row+` [data-testid="conversation-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="thread-title"]`)),
	)
	if got := b.Text(`[data-testid="thread-title"]`); got != "@padaria.lu" {
		t.Fatalf("thread title %q", got)
	}
	if got := browsertest.Get(b, chromedp.Evaluate[string](`document.querySelector('[data-testid="thread-title"]').title`)); got != bsuid {
		t.Fatalf("thread title hover %q", got)
	}
	if got := b.Text(`[data-wamid="wamid.u1"] [data-testid="bubble-text"]`); got != "Vocês entregam hoje?" {
		t.Fatalf("message %q", got)
	}
}
