package handlers_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// TestBrowserEditHistory: an edited message shows its latest text and, folded under it,
// every version with its time; opening the history shows them as typed.
func TestBrowserEditHistory(t *testing.T) {
	app := receiverApp(t, "mysql")
	live := func(message string) []byte {
		return messagesWebhook(`"contacts":[{"wa_id":"5511944443333","profile":{"name":"Lu"}}],"messages":[` + message + `]`)
	}
	deliver(t, app,
		live(`{"from":"5511944443333","id":"wamid.o","timestamp":"1761000000","type":"text","text":{"body":"Chego às 13h"}}`),
		live(`{"from":"5511944443333","id":"wamid.e1","timestamp":"1761000060","type":"edit","edit":{"original_message_id":"wamid.o","message":{"type":"text","text":{"body":"Chego às 14h <i>talvez</i>"}}}}`),
	)
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)
	bubble := `[data-wamid="wamid.o"]`
	b.Run(
		chromedp.Navigate(app.Server.URL+"/conversations"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversation-link"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="conversation-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(bubble+` [data-testid="bubble-text"]`)),
	)
	if got := b.Text(bubble + ` [data-testid="bubble-text"]`); got != "Chego às 14h <i>talvez</i>" {
		t.Fatalf("bubble shows %q", got)
	}
	if open := browsertest.Get(b, chromedp.Evaluate[bool](`document.querySelector('[data-wamid="wamid.o"] [data-testid="edit-history"]').open`)); open {
		t.Fatal("the history is open before it is asked for")
	}
	b.Run(chromedp.Click(chromedp.CSS(bubble + ` [data-testid="edit-history"] summary`)))
	first := b.Text(bubble + ` [data-testid="edit-version"]:first-child`)
	last := b.Text(bubble + ` [data-testid="edit-version"]:last-child`)
	if !strings.HasPrefix(first, "Original") || !strings.HasSuffix(first, "Chego às 13h") ||
		!strings.Contains(last, "now shown") || !strings.HasSuffix(last, "Chego às 14h <i>talvez</i>") {
		t.Fatalf("versions %q / %q", first, last)
	}
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('.chat i').length`)); n != 0 {
		t.Fatalf("%d injected elements", n)
	}
}
