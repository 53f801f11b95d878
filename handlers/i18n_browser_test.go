package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// TestBrowserThreadInPortuguese: an agent who picks Português (Brasil) in the profile reads
// a long thread with pt-BR day separators and loaders, also on the page "Load older" brings in.
func TestBrowserThreadInPortuguese(t *testing.T) {
	app, f := convApp(t, "mysql")
	kinds := kindsThread(t, app)
	b := browsertest.New(t)
	b.Emulate("UTC", "en-US") // the browser asks for English: the profile's choice wins
	browserLogin(b, app, apptest.AgentEmail)
	b.Run(
		chromedp.Navigate(app.Server.URL+"/profile"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="profile-form"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-language`), "pt-BR"),
		chromedp.Click(chromedp.CSS(`[data-testid="profile-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="alert"]`)),
		// Carla's thread at a message of 2025-10-10 (a Friday), 23:20 UTC: the page shows
		// that day and the next.
		chromedp.Navigate(fmt.Sprintf("%s/threads/%d?at=wamid.carla140#hit", app.Server.URL, f.carla.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#hit`)),
	)
	if got := b.Text(`[data-testid="load-older"]`); got != "Carregar mensagens anteriores" {
		t.Fatalf("older loader %q", got)
	}
	if got := b.Text(`[data-testid="load-newer"]`); got != "Carregar mensagens mais recentes" {
		t.Fatalf("newer loader %q", got)
	}
	if got := b.Text(`[data-testid="chat-older"] div`); got != "sexta-feira, 10 de outubro de 2025" {
		t.Fatalf("first day %q", got)
	}
	if got := b.Text(`[data-testid="day-separator"]`); got != "sábado, 11 de outubro de 2025" {
		t.Fatalf("day separator %q", got)
	}
	// Older messages up to the start: each loader htmx brings in speaks Portuguese too.
	count := `document.querySelectorAll('.bubble').length`
	for i := 0; browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="chat-start"]').length`)) == 0; i++ {
		if i == 5 {
			t.Fatal("the start of the conversation did not come after five pages")
		}
		before := browsertest.Get(b, chromedp.Evaluate[int](count))
		if got := b.Text(`[data-testid="load-older"]`); got != "Carregar mensagens anteriores" {
			t.Fatalf("older loader %q", got)
		}
		b.Run(browsertest.Idle(), chromedp.Click(chromedp.CSS(`[data-testid="load-older"]`)))
		if !browsertest.Get(b, chromedp.Poll[bool](fmt.Sprintf(`%s > %d`, count, before))) {
			t.Fatal("no older messages came in")
		}
		b.Run(browsertest.Idle())
	}
	if got := b.Text(`[data-testid="chat-start"]`); !strings.Contains(got, "Início da conversa") || !strings.Contains(got, "sexta-feira, 10 de outubro de 2025") {
		t.Fatalf("start of the conversation %q", got)
	}
	days := browsertest.Get(b, chromedp.Evaluate[string](`[...document.querySelectorAll('.chat .day-separator')].map(e => e.textContent.trim()).join(" | ")`))
	if strings.Contains(days, "October") || strings.Contains(days, "Friday") || strings.Contains(days, "Load") {
		t.Fatalf("English left in the day separators: %q", days)
	}
	if got := b.Text(`[data-testid="jump-latest"]`); got != "Mensagens mais recentes ↓" {
		t.Fatalf("jump to the latest %q", got)
	}

	// A reaction to a message the archive lacks, and the toast its copied wamid brings.
	b.Run(
		chromedp.Navigate(fmt.Sprintf("%s/threads/%d", app.Server.URL, kinds.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="orphan-reaction"]`)),
	)
	if got := b.Text(`[data-testid="orphan-reaction"] .muted`); !strings.HasPrefix(got, "O contato reagiu a uma mensagem que não está no arquivo") {
		t.Fatalf("reaction listed on its own %q", got)
	}
	b.Run(browsertest.Idle(), chromedp.Click(chromedp.CSS(`[data-testid="reaction-to"]`)), chromedp.WaitVisible(chromedp.CSS(`#flash .toast`)))
	if got := b.Text(`#flash .toast .toast-body`); got != "Copiado para a área de transferência." && got != "Não foi possível copiar. Selecione o texto e pressione Ctrl+C." {
		t.Fatalf("copy toast %q", got)
	}
	if got := browsertest.Get(b, chromedp.Evaluate[string](`document.querySelector("#flash .toast .toast-close").getAttribute("aria-label")`)); got != "Fechar" {
		t.Fatalf("toast close button %q", got)
	}
}
