package handlers_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// TestBrowserUsernameContact: a customer known only by a username (no phone number, as
// WhatsApp sends once usernames are on) is listed as @username with the full user id on
// hover, and their conversation opens with that title and their message.
func TestBrowserUsernameContact(t *testing.T) {
	const bsuid = "user.4f1c2a9d8e7b6c5a4f3e2d1c0b9a8f7e"
	app := receiverApp(t, "mysql")
	deliver(t, app, messagesWebhook(`"contacts":[{"wa_id":"","user_id":"`+bsuid+`","profile":{"name":"","username":"padaria.lu"}}],`+
		`"messages":[{"from":"","from_user_id":"`+bsuid+`","id":"wamid.u1","timestamp":"1761000000","type":"text","text":{"body":"Vocês entregam hoje?"}}]`))

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
