package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// TestBrowserLoginAddNumber signs in with a real browser, adds a number through the HTMX
// form (first with a mistake, shown inline), and sees it listed — with no console errors.
func TestBrowserLoginAddNumber(t *testing.T) {
	app := apptest.New(t, "mysql", apptest.Options{})
	b := browsertest.New(t)
	b.Run(
		chromedp.Navigate(app.Server.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), apptest.AdminEmail),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), apptest.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="numbers-empty"]`)),
	)
	if got := b.Text(`[data-testid="current-user"]`); got != apptest.AdminEmail {
		t.Fatalf("signed in as %q", got)
	}
	// A mistake first: the form comes back inline with the field's message (422 swap).
	b.Run(
		chromedp.SendKeys(chromedp.CSS(`#f-label`), "Loja Centro"),
		chromedp.SendKeys(chromedp.CSS(`#f-display_phone_number`), "+55 11 98765-0000"),
		chromedp.SendKeys(chromedp.CSS(`#f-phone_number_id`), "abc"),
		chromedp.SendKeys(chromedp.CSS(`#f-waba_id`), "810023456789012"),
		chromedp.SendKeys(chromedp.CSS(`#f-access_token`), "EAAGbrowserSecret123"),
		chromedp.Click(chromedp.CSS(`[data-testid="number-submit"]`)),
	)
	browsertest.Get(b, chromedp.Poll[bool](`document.querySelector('[data-testid="error-phone_number_id"]').textContent.includes("phone number ID")`))
	if got := browsertest.Get(b, chromedp.Value(chromedp.CSS(`#f-label`))); got != "Loja Centro" {
		t.Fatalf("label not kept after the error: %q", got)
	}
	// Fix it and submit: the table refreshes by itself.
	b.Run(
		browsertest.Idle(), // the form the 422 swapped in
		chromedp.SetValue(chromedp.CSS(`#f-phone_number_id`), "623400011122233"),
		chromedp.SendKeys(chromedp.CSS(`#f-access_token`), "EAAGbrowserSecret123"),
		chromedp.Click(chromedp.CSS(`[data-testid="number-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="number-row"]`)),
	)
	if got := b.Text(`[data-testid="number-label"]`); got != "Loja Centro" {
		t.Fatalf("listed label %q", got)
	}
	html := browsertest.Get(b, chromedp.OuterHTML(chromedp.CSS(`html`)))
	if strings.Contains(html, "EAAGbrowserSecret123") {
		t.Fatal("the access token is in the page")
	}
	if got := browsertest.Get(b, chromedp.Value(chromedp.CSS(`#f-label`))); got != "" {
		t.Fatalf("form not reset after adding: %q", got)
	}
}
