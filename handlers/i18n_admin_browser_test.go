package handlers_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
	"coexhistory/models"
)

// TestBrowserNumbersInPortuguese: an admin whose profile says pt-BR (the browser asks for
// English) reads the numbers registry in Portuguese, gets the form's errors in Portuguese
// and, after adding a number, the toast in Portuguese.
func TestBrowserNumbersInPortuguese(t *testing.T) {
	app := apptest.New(t, "mysql", apptest.Options{})
	if _, err := app.Services.Auth.CreateUser(context.Background(), ptAdminEmail, apptest.Password, models.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	b := browsertest.New(t)
	b.Emulate("UTC", "en-US")
	browserLogin(b, app, ptAdminEmail)
	b.Run(
		chromedp.Navigate(app.Server.URL+"/profile"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="profile-form"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-language`), "pt-BR"),
		chromedp.Click(chromedp.CSS(`[data-testid="profile-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="alert"]`)),
		chromedp.Navigate(app.Server.URL+"/numbers"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="numbers-empty"]`)),
	)
	if got := b.Text(`h1`); got != "Números comerciais" {
		t.Fatalf("numbers heading %q", got)
	}
	if got := b.Text(`[data-testid="numbers-empty"] strong`); got != "Ainda não há números." {
		t.Fatalf("empty state %q", got)
	}
	if got := b.Text(`[data-testid="number-submit"]`); got != "Adicionar número" {
		t.Fatalf("submit button %q", got)
	}
	// A mistake first: the field's error in Portuguese.
	b.Run(
		chromedp.SendKeys(chromedp.CSS(`#f-label`), "Loja Centro"),
		chromedp.SendKeys(chromedp.CSS(`#f-display_phone_number`), "5511987650000"),
		chromedp.SendKeys(chromedp.CSS(`#f-phone_number_id`), "abc"),
		chromedp.SendKeys(chromedp.CSS(`#f-waba_id`), "810023456789012"),
		chromedp.SendKeys(chromedp.CSS(`#f-access_token`), "EAAGbrowserSecret123"),
		chromedp.Click(chromedp.CSS(`[data-testid="number-submit"]`)),
	)
	browsertest.Get(b, chromedp.Poll[bool](`document.querySelector('[data-testid="error-phone_number_id"]').textContent.trim() !== ""`))
	if got := b.Text(`[data-testid="error-phone_number_id"]`); got != "Informe a identificação do número de telefone na Meta (dígitos)." {
		t.Fatalf("field error %q", got)
	}
	b.Run(
		browsertest.Idle(),
		chromedp.SetValue(chromedp.CSS(`#f-phone_number_id`), "623400011122233"),
		chromedp.SendKeys(chromedp.CSS(`#f-access_token`), "EAAGbrowserSecret123"),
		chromedp.Click(chromedp.CSS(`[data-testid="number-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#flash .toast`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="number-row"]`)),
	)
	if got := b.Text(`#flash .toast .toast-body`); got != "Número Loja Centro adicionado." {
		t.Fatalf("toast %q", got)
	}
	if got := b.Text(`[data-testid="sync-badge"]`); got != "Não sincronizado" {
		t.Fatalf("sync badge %q", got)
	}
	if got := b.Text(`[data-testid="sync-disabled-reason"]`); got != "Informe primeiro o horário da integração: a Meta só permite a sincronização em até 24 h após a integração." {
		t.Fatalf("sync disabled reason %q", got)
	}
}
