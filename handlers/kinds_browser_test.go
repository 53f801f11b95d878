package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// TestBrowserMessageKinds: an agent sees a shared contact card, an order summary and a
// centered system line, and a reply's quote takes them to the quoted message, highlighted.
func TestBrowserMessageKinds(t *testing.T) {
	app, _ := convApp(t, "mysql")
	th := kindsThread(t, app)
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)
	b.Run(
		chromedp.Navigate(fmt.Sprintf("%s/threads/%d", app.Server.URL, th.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-wamid="wamid.kc"] [data-testid="contact-card"]`)),
	)
	if got := b.Text(`[data-wamid="wamid.kc"] [data-testid="card-name"]`); got != "Maria <script>alert(1)</script>Silva" {
		t.Fatalf("card name %q", got)
	}
	if got := b.Text(`[data-wamid="wamid.kc"] [data-testid="card-phone"]`); got != "+55 11 93333-2222 · cell" {
		t.Fatalf("card phone %q", got)
	}
	if got := b.Text(`[data-wamid="wamid.ko"] [data-testid="order-total"]`); got != "116.80 BRL" {
		t.Fatalf("order total %q", got)
	}
	// The stylesheet applies (strict CSP, no inline style): the system line is centered.
	if got := browsertest.Get(b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('[data-wamid="wamid.ks"]')).alignSelf`)); got != "center" {
		t.Fatalf("system line align-self %q", got)
	}
	// A reaction to a message the archive lacks is an item of its own: the emoji, large, and
	// the shortened wamid it reacts to (the full one on hover).
	if got := b.Text(`[data-wamid="wamid.kx"] [data-testid="orphan-reaction"]`); !strings.HasPrefix(got, "🎂") || !strings.Contains(got, "The contact reacted to a message that is not in the archive") {
		t.Fatalf("orphan reaction %q", got)
	}
	if got := browsertest.Get(b, chromedp.Evaluate[string](`document.querySelector('[data-wamid="wamid.kx"] [data-testid="reaction-to"]').title`)); got != "wamid.HBgNNTUxMTk1NTU1NDQ0NBUCABIYFk5PVFNUT1JFRAA=" {
		t.Fatalf("reaction target title %q", got)
	}
	if got := browsertest.Get(b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('[data-wamid="wamid.kx"] .reaction-emoji')).fontSize`)); got != "22.4px" {
		t.Fatalf("reaction emoji font size %q: the stylesheet does not apply", got)
	}
	if got := b.Text(`[data-wamid="wamid.kr"] [data-testid="quote-text"]`); got != "Quero encomendar um bolo de cenoura" {
		t.Fatalf("quote %q", got)
	}
	b.Run(
		chromedp.Click(chromedp.CSS(`[data-wamid="wamid.kr"] a[data-testid="quote"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#hit[data-wamid="wamid.k1"]`)),
	)
	loc := browsertest.Get(b, chromedp.Evaluate[string](`location.search + location.hash`))
	if !strings.Contains(loc, "at=wamid.k1") || !strings.HasSuffix(loc, "#hit") {
		t.Fatalf("quote opened %q", loc)
	}
	if got := browsertest.Get(b, chromedp.Evaluate[string](`document.querySelector('#hit').className`)); !strings.Contains(got, "is-highlighted") {
		t.Fatalf("quoted message not highlighted: %q", got)
	}
}
