package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// TestBrowserConversationsContactFilter: an agent signs in, lands on the conversations and
// narrows them by typing a contact the way they remember it; the address records the filter.
func TestBrowserConversationsContactFilter(t *testing.T) {
	app, _ := convApp(t, "mysql")
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)
	b.Run(chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversation-rows"]`)))
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="conversation"]').length`)); n != 4 {
		t.Fatalf("%d conversations on the home page, want 4", n)
	}
	contacts := `Array.from(document.querySelectorAll('[data-testid="conversation-contact"]')).map(e => e.textContent.trim()).join(",")`
	for _, tc := range []struct{ typed, want string }{
		{"carla", "Carla Dias"},
		{"CÁRLA", "Carla Dias"},
		{"6666", "Carla Dias"},
		{"31 97777-6666", "Carla Dias"},
		{"+55 21 99887-7665", "Bruno Lima"},
		{"souza", "Ana Souza,Ana Souza"},
	} {
		b.Run(
			chromedp.Evaluate[chromedp.Void](`document.getElementById("f-contact").value = ""`),
			chromedp.SendKeys(chromedp.CSS(`#f-contact`), tc.typed),
		)
		js := fmt.Sprintf(`(%s) === %q && !document.querySelector(".htmx-request")`, contacts, tc.want)
		if _, err := chromedp.Run(b.Ctx(), chromedp.Poll[bool](js)); err != nil {
			t.Fatalf("typed %q: lists %q, want %q", tc.typed, browsertest.Get(b, chromedp.Evaluate[string](contacts)), tc.want)
		}
	}
	if loc := browsertest.Get(b, chromedp.Location()); !strings.Contains(loc, "contact=souza") {
		t.Fatalf("the address does not record the filter: %s", loc)
	}
}
