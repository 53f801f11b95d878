package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// TestBrowserUsersPage manages an account on a 390 px wide phone screen: disable (with the
// confirm dialog), enable, change the role and reset the password, each answered in place
// by HTMX, with nothing wider than the screen.
func TestBrowserUsersPage(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	b := browsertest.New(t, browsertest.WithWindowSize(390, 844))
	const agent = `[data-email="agent@example.com"]`
	fits := func(when string) {
		t.Helper()
		if w := browsertest.Get(b, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); w > 0 {
			t.Fatalf("%s: the page is %d px wider than the 390 px screen", when, w)
		}
	}
	b.Run(
		chromedp.Navigate(app.Server.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), apptest.AdminEmail),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), apptest.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="users"]`)),
	)
	fits("users page")

	// Disable: confirm, then the list comes back with the badge and a notice.
	b.Run(
		chromedp.Click(chromedp.CSS(agent+` summary`)),
		chromedp.WaitVisible(chromedp.CSS(agent+` [data-testid="user-disable"]`)),
	)
	fits("manage open")
	b.Run(
		chromedp.Click(chromedp.CSS(agent+` [data-testid="user-disable"]`)),
		chromedp.WaitVisible(chromedp.CSS(agent+` [data-testid="user-disabled"]`)),
	)
	if d := b.Dialogs(); len(d) != 1 || !strings.Contains(d[0], "Disable agent@example.com?") {
		t.Fatalf("dialogs %q", d)
	}
	if got := b.Text(`[data-testid="users-notice"]`); !strings.Contains(got, "agent@example.com is disabled") {
		t.Fatalf("notice %q", got)
	}
	// Enable again.
	b.Run(browsertest.Idle())
	b.Run(
		chromedp.Click(chromedp.CSS(agent+` summary`)),
		chromedp.Click(chromedp.CSS(agent+` [data-testid="user-enable"]`)),
		chromedp.WaitVisible(chromedp.CSS(agent+` [data-testid="user-disable"]`)),
	)
	browsertest.Get(b, chromedp.Poll[bool](`document.querySelector('[data-testid="users-notice"]').textContent.includes("can sign in again")`))
	// Role.
	b.Run(browsertest.Idle())
	b.Run(
		chromedp.Click(chromedp.CSS(agent+` summary`)),
		chromedp.WaitVisible(chromedp.CSS(agent+` [data-testid="role-select"]`)),
		chromedp.SetValue(chromedp.CSS(agent+` [data-testid="role-select"]`), "admin"),
		chromedp.Click(chromedp.CSS(agent+` [data-testid="role-submit"]`)),
	)
	browsertest.Get(b, chromedp.Poll[bool](`document.querySelector('[data-email="agent@example.com"] [data-testid="user-role"]').textContent === "admin"`))
	// Reset the password: shown once, in place.
	b.Run(browsertest.Idle())
	b.Run(
		chromedp.Click(chromedp.CSS(agent+` summary`)),
		chromedp.WaitVisible(chromedp.CSS(agent+` [data-testid="user-reset"]`)),
		chromedp.Click(chromedp.CSS(agent+` [data-testid="user-reset"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="temp-password"] code`)),
	)
	if temp := b.Text(`[data-testid="temp-password"] code`); len(temp) < 12 {
		t.Fatalf("temporary password %q", temp)
	}
	fits("after the reset")
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors: %v", errs)
	}
}
