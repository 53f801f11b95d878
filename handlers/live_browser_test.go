package handlers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// liveMessage is a live inbound text message from Ana, as Meta's messages webhook sends it.
func liveMessage(wamid, text string, ts time.Time) []byte {
	return browserEnvelope("messages", map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Ana Souza"}, "wa_id": "5511912345678"}},
		"messages": []any{map[string]any{"from": "5511912345678", "id": wamid, "timestamp": fmt.Sprint(ts.Unix()),
			"type": "text", "text": map[string]any{"body": text}}},
	})
}

// TestBrowserLiveArrival: with the ingest workers running, a webhook posted while a thread is
// open shows its message in that thread, and on the conversations list, within 3 s, without
// a reload.
func TestBrowserLiveArrival(t *testing.T) {
	app, f := convApp(t, "mysql")
	ctx, cancel := context.WithCancel(context.Background())
	done := app.Services.StartWorkers(ctx)
	t.Cleanup(func() { cancel(); <-done })
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)

	b.Run(
		chromedp.Navigate(fmt.Sprintf("%s/threads/%d", app.Server.URL, f.ana.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="chat-end"]`)),
	)
	// Mark the page: a reload would lose it.
	b.Run(chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`))
	posted := time.Now()
	browserPostWebhook(t, app, liveMessage("wamid.live.thread", "Chegou agora, ao vivo!", posted))
	arrived := `[data-wamid="wamid.live.thread"]`
	waitFor(t, b, 3*time.Second, fmt.Sprintf(`!!document.querySelector(%q) && window.__sameDocument === true`, arrived))
	if got := b.Text(arrived + ` .bubble-text, ` + arrived); got == "" {
		t.Fatal("the live message is empty")
	}
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="chat-end"]').length`)); n != 1 {
		t.Fatalf("%d end markers after the live message", n)
	}
	t.Logf("thread: shown %s after the webhook", time.Since(posted).Round(10*time.Millisecond))

	// The conversations list: a message to another thread moves it to the top.
	b.Run(
		chromedp.Navigate(app.Server.URL+"/conversations"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversation-rows"]`)),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`),
	)
	posted = time.Now()
	browserPostWebhook(t, app, liveMessage("wamid.live.list", "Lista ao vivo", posted))
	top := `(document.querySelector('[data-testid="conversation-preview"]') || {}).textContent`
	waitFor(t, b, 3*time.Second, top+` === "Lista ao vivo" && window.__sameDocument === true`)
	t.Logf("list: shown %s after the webhook", time.Since(posted).Round(10*time.Millisecond))
}

// waitFor polls a JavaScript condition until it holds, failing the test after limit.
func waitFor(t *testing.T, b *browsertest.Browser, limit time.Duration, js string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx(), limit)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js)); err != nil {
		t.Fatalf("not within %s: %s (%v)", limit, js, err)
	}
}
