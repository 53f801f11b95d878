package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
)

// The tests that go through the receiver use one registered Meta number, Doces da Vila.
const (
	recvPNID    = "623400011122233"
	recvDisplay = "5511987650000"
	recvWABA    = "810023456789012"
)

// receiverApp is an app of the dialect with Doces da Vila registered.
func receiverApp(t *testing.T, dialect string) *apptest.App {
	t.Helper()
	app := apptest.New(t, dialect, apptest.Options{})
	if _, err := app.Services.Registry.Create(context.Background(), registry.Actor{Name: "test"}, registry.Input{
		Label: "Doces da Vila", DisplayPhoneNumber: recvDisplay, PhoneNumberID: recvPNID,
		WABAID: recvWABA, Provider: "meta", AccessToken: "EAAGtest",
	}); err != nil {
		t.Fatal(err)
	}
	return app
}

// deliver posts each body to the Meta webhook, signed, and applies it before the next.
func deliver(t *testing.T, app *apptest.App, bodies ...[]byte) {
	t.Helper()
	for _, b := range bodies {
		if status, body := postWebhook(t, app, "/webhooks/whatsapp", b, signed(b)); status != http.StatusOK {
			t.Fatalf("post = %d: %.200s", status, body)
		}
		if _, err := app.Services.Ingest.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// messagesWebhook is a messages webhook for Doces da Vila with the given JSON members of its
// value (contacts, messages, statuses), e.g. `"contacts":[…],"messages":[…]`.
func messagesWebhook(members string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + recvWABA + `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"` + recvDisplay + `","phone_number_id":"` + recvPNID + `"},` + members + `}}]}]}`)
}
