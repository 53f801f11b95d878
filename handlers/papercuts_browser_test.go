package handlers_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// TestBrowserToastKeepsUnicode: the toast after adding a number shows its label exactly,
// accents and emoji included.
func TestBrowserToastKeepsUnicode(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AdminEmail)
	b.Run(
		chromedp.WaitVisible(chromedp.CSS(`#f-label`)),
		chromedp.SendKeys(chromedp.CSS(`#f-label`), "São Paulo 🌴"),
		chromedp.SendKeys(chromedp.CSS(`#f-display_phone_number`), "+55 11 98765-0000"),
		chromedp.SendKeys(chromedp.CSS(`#f-phone_number_id`), "623400011122233"),
		chromedp.SendKeys(chromedp.CSS(`#f-waba_id`), "810023456789012"),
		chromedp.SendKeys(chromedp.CSS(`#f-access_token`), "EAAGtoastSecret123"),
		chromedp.Click(chromedp.CSS(`[data-testid="number-submit"]`)),
	)
	if got := b.Text(`[data-testid="toast"] .toast-body`); got != "Number São Paulo 🌴 added." {
		t.Fatalf("toast %q", got)
	}
}

// TestBrowserSessionExpiryMidAction: the session ends while a page is open; the next HTMX
// action leads to the sign-in page, which says why, and signing in returns to the full page.
func TestBrowserSessionExpiryMidAction(t *testing.T) {
	app, _ := convApp(t, "sqlite")
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)
	b.Run(
		chromedp.Navigate(app.Server.URL+"/conversations?contact=ana"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversation-rows"]`)),
	)
	if _, err := app.DB.SQL().Exec(`DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
	b.Run(
		chromedp.SendKeys(chromedp.CSS(`#f-contact`), " souza"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
	)
	if got := b.Text(`[data-testid="alert"]`); !strings.Contains(got, "Your session expired") {
		t.Fatalf("login page says %q", got)
	}
	b.Run(
		chromedp.SendKeys(chromedp.CSS(`#f-email`), apptest.AgentEmail),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), apptest.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversation-rows"]`)),
	)
	loc := browsertest.Get(b, chromedp.Location())
	if !strings.HasSuffix(loc, "/conversations?contact=ana") {
		t.Fatalf("after signing in again: %s", loc)
	}
	if got := b.Text(`[data-testid="current-user"]`); got != apptest.AgentEmail {
		t.Fatalf("not the full page (top bar %q)", got)
	}
}

// TestBrowserEveryPageAt390: every page fits a 390 px phone without sideways scrolling, and
// none logs a console error or fails a request (favicon included).
func TestBrowserEveryPageAt390(t *testing.T) {
	app, f := convApp(t, "sqlite")
	b := browsertest.New(t, browsertest.WithWindowSize(390, 844))
	b.Run(
		chromedp.Navigate(app.Server.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
	)
	overflow := `document.documentElement.scrollWidth - document.documentElement.clientWidth`
	var wide []string
	check := func(path string) {
		b.Run(chromedp.Sleep(50 * time.Millisecond))
		if px := browsertest.Get(b, chromedp.Evaluate[int](overflow)); px > 0 {
			culprits := browsertest.Get(b, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("main *")).filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !Array.from(e.children).some(c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 1)).slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)).join(", ")`))
			wide = append(wide, fmt.Sprintf("%s (%d px too wide: %s)", path, px, culprits))
		}
	}
	check("/login")
	browserLogin(b, app, apptest.AdminEmail)
	for _, path := range []string{
		"/", "/conversations", "/numbers", fmt.Sprintf("/numbers/%d", f.numberID), fmt.Sprintf("/numbers/%d/edit", f.numberID),
		fmt.Sprintf("/numbers/%d/threads", f.numberID), fmt.Sprintf("/threads/%d", f.ana.ID), fmt.Sprintf("/threads/%d", f.carla.ID),
		"/search", "/search?q=bolo", "/admin/health", "/admin/inbox", "/admin/audit", "/admin/users", "/profile", "/nope",
	} {
		b.Run(
			chromedp.Navigate(app.Server.URL+path),
			chromedp.WaitVisible(chromedp.CSS(`main`)),
		)
		check(path)
		if dir := os.Getenv("COEX_TEST_SHOTS"); dir != "" {
			png := browsertest.Get(b, chromedp.FullScreenshot(100))
			_ = os.WriteFile(filepath.Join(dir, strings.NewReplacer("/", "_", "?", "_").Replace(path)+".png"), png, 0o644)
		}
	}
	if len(wide) > 0 {
		t.Fatalf("pages wider than 390 px:\n  %s", strings.Join(wide, "\n  "))
	}
}

// TestBrowserFocusAfterLoadMore: after "Load more" the keyboard focus is on the first new
// item, not lost to the page; the search box has the focus when Search opens.
func TestBrowserFocusAfterLoadMore(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	for i := 0; i < 60; i++ {
		convThread(t, app.DB, convPNID, fmt.Sprintf("55119000%05d", i), fmt.Sprintf("Cliente %03d", i),
			[]convMsg{{wamid: fmt.Sprintf("wamid.f%d", i), direction: "inbound", typ: "text", text: "oi", status: "read", origin: "live", ts: 1760000000 + int64(i)}})
	}
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)
	b.Run(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversations-load-more"]`)),
		chromedp.Focus(chromedp.CSS(`[data-testid="conversations-load-more"]`)),
		chromedp.KeyEvent("\r"),
	)
	waitFor(t, b, 5*time.Second, `document.querySelectorAll('[data-testid="conversation"]').length === 60`)
	waitFor(t, b, 2*time.Second, `document.activeElement && document.activeElement.matches('[data-testid="conversation-link"]')`)
	if got := browsertest.Get(b, chromedp.Evaluate[string](`document.activeElement.querySelector('[data-testid="conversation-contact"]').textContent`)); got != "Cliente 009" {
		t.Fatalf("focus on %q, want the first new item (Cliente 009)", got)
	}
	b.Run(
		chromedp.Navigate(app.Server.URL+"/search"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-q"]`)),
	)
	waitFor(t, b, 2*time.Second, `document.activeElement && document.activeElement.id === "f-q"`)
}
