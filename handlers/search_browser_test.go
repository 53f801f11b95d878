package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
	"coexhistory/internal/ingest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store/storetest"
	"coexhistory/internal/webhook"
	"coexhistory/models"
)

const (
	browserPNID     = "623400011122233"
	browserBusiness = "5511987650000"
	browserContact  = "5511912345678"
	browserHit      = "wamid.browser.hit"
	browserScript   = "wamid.browser.script"
	browserImg      = "wamid.browser.img"
	browserHuge     = "wamid.browser.huge"
	browserScriptTx = `<script>alert(1)</script>`
	browserImgTx    = `<img src=x onerror=alert(2)> <a href="javascript:alert(3)">clique aqui</a> javascript:alert(4)`
)

// browserEnvelope wraps one change in Meta's webhook envelope.
func browserEnvelope(field string, value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]any{"display_phone_number": browserBusiness, "phone_number_id": browserPNID}
	b, err := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []any{map[string]any{"id": "810023456789012", "changes": []any{map[string]any{"field": field, "value": value}}}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// browserHistory is a history chunk of one thread: 30 messages, the one to find, the hostile
// ones, a huge one, then 30 more, so the hit sits in the middle of a long page.
func browserHistory(now time.Time) []byte {
	var msgs []any
	ts := now.Add(-48 * time.Hour).Unix()
	add := func(id, text string, fromMe bool) {
		ts += 60
		from := browserContact
		if fromMe {
			from = browserBusiness
		}
		msgs = append(msgs, map[string]any{
			"from": from, "id": id, "timestamp": fmt.Sprint(ts), "type": "text", "text": map[string]any{"body": text},
			"history_context": map[string]any{"status": "READ", "from_me": fromMe},
		})
	}
	for i := 0; i < 30; i++ {
		add(fmt.Sprintf("wamid.browser.before%02d", i), fmt.Sprintf("mensagem de teste numero %d", i), i%2 == 1)
	}
	add(browserHit, "Vocês ainda têm o bolo de cenoura para sábado?", false)
	add(browserScript, browserScriptTx, false)
	add(browserImg, browserImgTx, false)
	add(browserHuge, strings.Repeat("textao enorme sem fim ", 5000), false)
	for i := 0; i < 30; i++ {
		add(fmt.Sprintf("wamid.browser.after%02d", i), fmt.Sprintf("outra mensagem de teste %d", i), i%2 == 0)
	}
	return browserEnvelope("history", map[string]any{"history": []any{map[string]any{
		"metadata": map[string]any{"phase": 0, "chunk_order": 1, "progress": 100},
		"threads":  []any{map[string]any{"id": browserContact, "messages": msgs}},
	}}})
}

func browserContacts() []byte {
	return browserEnvelope("smb_app_state_sync", map[string]any{"state_sync": []any{map[string]any{
		"type": "contact", "action": "add", "metadata": map[string]any{"timestamp": "1760960011"},
		"contact": map[string]any{"full_name": "Mariana Costa Ribeiro", "first_name": "Mariana", "phone_number": browserContact},
	}}})
}

// browserPostWebhook sends a signed webhook the way Meta does.
func browserPostWebhook(t *testing.T, app *apptest.App, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, app.Server.URL+"/webhooks/whatsapp", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", webhook.Sign([]byte(apptest.AppSecret), body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("webhook = %d: %s", res.StatusCode, msg)
	}
}

// TestBrowserSearchOpensHighlightedMessage: messages come in through the real webhook and
// ingest; an agent searches a word, sees it highlighted, opens the hit and lands on it in its
// thread, highlighted and in view; hostile messages are inert text (no dialog, no console
// error, no injected element); the back button returns to the results.
func TestBrowserSearchOpensHighlightedMessage(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			ctx := context.Background()
			if _, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
				Label: "Doces da Vila", DisplayPhoneNumber: browserBusiness, PhoneNumberID: browserPNID, WABAID: "810023456789012",
				Provider: models.ProviderMeta, AccessToken: "EAAGbrowserTOKEN0123456789",
			}); err != nil {
				t.Fatal(err)
			}
			browserPostWebhook(t, app, browserContacts())
			browserPostWebhook(t, app, browserHistory(time.Now()))
			worker := ingest.New(app.DB, slog.New(slog.NewTextHandler(io.Discard, nil)), ingest.Options{})
			if n, err := worker.Drain(ctx); err != nil || n != 2 {
				t.Fatalf("ingest processed %d rows: %v", n, err)
			}
			var threadID uint64
			if err := app.DB.SQL().QueryRowContext(ctx, "SELECT thread_id FROM messages WHERE wamid = ?", browserHit).Scan(&threadID); err != nil {
				t.Fatalf("the hit was not ingested: %v", err)
			}

			b := browsertest.New(t)
			b.Run(
				chromedp.Navigate(app.Server.URL+"/search"),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
				chromedp.SendKeys(chromedp.CSS(`#f-email`), apptest.AgentEmail),
				chromedp.SendKeys(chromedp.CSS(`#f-password`), apptest.Password),
				chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-empty"]`)),
				chromedp.SendKeys(chromedp.CSS(`#f-q`), "cenoura"),
				chromedp.Click(chromedp.CSS(`[data-testid="search-submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-result"]`)),
			)
			if got := b.Text(`[data-testid="search-result"] [data-testid="snippet"] mark`); got != "cenoura" {
				t.Fatalf("highlighted %q", got)
			}
			if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="search-result"]').length`)); n != 1 {
				t.Fatalf("%d results, want 1", n)
			}
			if loc := browsertest.Get(b, chromedp.Location()); !strings.HasSuffix(loc, "/search?q=cenoura") {
				t.Fatalf("the URL does not hold the search: %s", loc)
			}
			if got := b.Text(`[data-testid="search-result-link"]`); got != "Mariana Costa Ribeiro" {
				t.Fatalf("result contact %q", got)
			}

			// Open the hit: its thread, scrolled to the message, highlighted.
			b.Run(
				chromedp.Click(chromedp.CSS(`[data-testid="search-result-link"]`)),
				chromedp.WaitVisible(chromedp.CSS(`.bubble.is-highlighted`)),
			)
			if loc := browsertest.Get(b, chromedp.Location()); !strings.Contains(loc, fmt.Sprintf("/threads/%d?at=", threadID)) {
				t.Fatalf("opened %s", loc)
			}
			if got := browsertest.Get(b, chromedp.Evaluate[string](`document.querySelector('.bubble.is-highlighted').dataset.wamid`)); got != browserHit {
				t.Fatalf("highlighted %q", got)
			}
			inView := `(() => { const r = document.querySelector('.bubble.is-highlighted').getBoundingClientRect();
				return r.top >= 0 && r.bottom <= window.innerHeight && window.scrollY > 0; })()`
			if !browsertest.Get(b, chromedp.Poll[bool](inView)) {
				t.Fatal("the highlighted message is not scrolled into view")
			}
			if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('.bubble').length`)); n != 50 {
				t.Fatalf("%d bubbles on the page, want 50", n)
			}

			// Hostile messages: the text as typed, nothing injected, no dialog.
			text := func(wamid string) string {
				return browsertest.Get(b, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('[data-wamid="%s"] [data-testid="bubble-text"]').textContent`, wamid)))
			}
			if got := text(browserScript); got != browserScriptTx {
				t.Fatalf("script message shows %q", got)
			}
			if got := text(browserImg); got != browserImgTx {
				t.Fatalf("img message shows %q", got)
			}
			if got := text(browserHuge); len(got) != len(strings.Repeat("textao enorme sem fim ", 5000)) {
				t.Fatalf("huge message shows %d characters", len(got))
			}
			injected := `document.querySelectorAll('.chat script, .chat img, .chat a[href^="javascript:"]').length`
			if n := browsertest.Get(b, chromedp.Evaluate[int](injected)); n != 0 {
				t.Fatalf("%d injected elements in the chat", n)
			}
			// The huge message wraps inside its bubble: the page does not scroll sideways.
			if wide := browsertest.Get(b, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); wide {
				t.Fatal("the page is wider than the window")
			}

			// Load the rest of the thread: the older and newer loaders bring in every message once.
			b.Run(
				chromedp.Click(chromedp.CSS(`[data-testid="load-older"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="chat-start"]`)),
				browsertest.Idle(),
				chromedp.Click(chromedp.CSS(`[data-testid="load-newer"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#thread-end`)),
			)
			if n := browsertest.Get(b, chromedp.Evaluate[int](`new Set([...document.querySelectorAll('.bubble')].map(e => e.dataset.wamid)).size`)); n != 64 {
				t.Fatalf("%d distinct bubbles after loading everything, want 64", n)
			}
			if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('.bubble').length`)); n != 64 {
				t.Fatalf("%d bubbles after loading everything, want 64", n)
			}

			// Back to the results with the browser's back button: the URL loads the search again.
			b.Run(chromedp.NavigateBack())
			back := `location.pathname + location.search === "/search?q=cenoura" &&
				document.querySelectorAll('[data-testid="search-result"]').length === 1 &&
				document.querySelector('#f-q').value === "cenoura"`
			if !browsertest.Get(b, chromedp.Poll[bool](back)) {
				t.Fatal("the back button did not return to the results")
			}
			if d := b.Dialogs(); len(d) != 0 {
				t.Fatalf("dialogs opened: %v", d)
			}
		})
	}
}
