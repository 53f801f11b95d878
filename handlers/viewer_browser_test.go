package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// browserLogin signs in through the form, as staff do, and waits for the home page.
func browserLogin(b *browsertest.Browser, app *apptest.App, email string) {
	b.Run(
		chromedp.Navigate(app.Server.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), email),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), apptest.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)),
	)
}

// TestBrowserTimesInSaoPaulo: a browser set to America/Sao_Paulo and pt-BR sees a
// message's time in its own zone, the zone named once in the top bar, the exact time on
// hover; the profile can pin another zone.
func TestBrowserTimesInSaoPaulo(t *testing.T) {
	app, f := convApp(t, "mysql")
	b := browsertest.New(t)
	b.Emulate("America/Sao_Paulo", "pt-BR")
	browserLogin(b, app, apptest.AgentEmail)
	bubble := `[data-wamid="wamid.ana1"] [data-testid="bubble-time"]`
	b.Run(
		chromedp.Navigate(fmt.Sprintf("%s/threads/%d", app.Server.URL, f.ana.ID)),
		chromedp.WaitVisible(chromedp.CSS(bubble)),
	)
	// wamid.ana1 is 09:55 UTC on convDay: 06:55 in São Paulo.
	day := convDay.Format("2006-01-02")
	if got := b.Text(bubble); got != "06:55" {
		t.Fatalf("bubble time %q, want 06:55", got)
	}
	if got := browsertest.Get(b, chromedp.AttributeValue(chromedp.CSS(bubble), "title")).Value; got != day+" 06:55:00 -03" {
		t.Fatalf("exact time on hover %q", got)
	}
	if got := b.Text(`[data-testid="topbar-zone"]`); got != "America/Sao_Paulo (UTC-03:00)" {
		t.Fatalf("top bar zone %q", got)
	}
	if got := b.Text(`[data-testid="thread-zone"]`); !strings.Contains(got, "America/Sao_Paulo") {
		t.Fatalf("thread zone %q", got)
	}
	// The browser asks for pt-BR: the interface speaks it.
	if got := browsertest.Get(b, chromedp.Evaluate[string](`document.documentElement.lang`)); got != "pt-BR" {
		t.Fatalf("page language %q", got)
	}
	if got := b.Text(`nav a[href="/conversations"]`); got != "Conversas" {
		t.Fatalf("nav says %q", got)
	}
	if got := b.Text(`[data-testid="thread-messages"]`); got != "9 mensagens" {
		t.Fatalf("message count %q", got)
	}
	b.Run(
		chromedp.Navigate(app.Server.URL+"/conversations"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversation-rows"]`)),
	)
	if got := b.Text(`[data-thread-id="` + fmt.Sprint(f.carla.ID) + `"] [data-testid="conversation-preview"]`); got != "Você: mensagem numero 449 sobre encomenda" {
		t.Fatalf("preview %q", got)
	}
	// Relative times in Portuguese (the browser's Intl, by the page's language).
	rel := b.Text(`[data-thread-id="` + fmt.Sprint(f.ana.ID) + `"] time[data-relative]`)
	if rel == "" || strings.Contains(rel, "ago") || strings.Contains(rel, "day") {
		t.Fatalf("relative time %q is not Portuguese", rel)
	}
	// Pin Tokyo in the profile: the same message reads 18:55.
	b.Run(
		chromedp.Click(chromedp.CSS(`[data-testid="topbar-zone"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="profile-form"]`)),
	)
	if got := b.Text(`[data-testid="profile-browser-zone"]`); got != "America/Sao_Paulo" {
		t.Fatalf("browser zone on the profile %q", got)
	}
	b.Run(
		chromedp.SetValue(chromedp.CSS(`#f-time_zone`), "Asia/Tokyo"),
		chromedp.Click(chromedp.CSS(`[data-testid="profile-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="alert"]`)),
		chromedp.Navigate(fmt.Sprintf("%s/threads/%d", app.Server.URL, f.ana.ID)),
		chromedp.WaitVisible(chromedp.CSS(bubble)),
	)
	if got := b.Text(bubble); got != "18:55" {
		t.Fatalf("bubble time with the profile's zone %q, want 18:55", got)
	}
	if got := b.Text(`[data-testid="topbar-zone"]`); got != "Asia/Tokyo (UTC+09:00)" {
		t.Fatalf("top bar zone %q", got)
	}
	// The profile's language wins over the browser's.
	b.Run(
		chromedp.Navigate(app.Server.URL+"/profile"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="profile-form"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-language`), "en"),
		chromedp.Click(chromedp.CSS(`[data-testid="profile-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="alert"]`)),
	)
	if got := b.Text(`nav a[href="/conversations"]`); got != "Conversations" {
		t.Fatalf("nav says %q with English chosen", got)
	}
}
