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

// TestBrowserLiveChanges: while a thread is open, the customer edits a message on the page
// and reacts to it, and a business message is read: the bubbles change in place within 3 s,
// without a reload, and nothing is listed twice.
func TestBrowserLiveChanges(t *testing.T) {
	app, f := convApp(t, "mysql")
	ctx, cancel := context.WithCancel(context.Background())
	done := app.Services.StartWorkers(ctx)
	t.Cleanup(func() { cancel(); <-done })
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)
	b.Run(
		chromedp.Navigate(fmt.Sprintf("%s/threads/%d", app.Server.URL, f.ana.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="chat-end"]`)),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`),
	)
	bubbles := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="bubble"]').length`))
	now := time.Now()
	from := func(m map[string]any) []byte {
		m["from"], m["timestamp"] = "5511912345678", fmt.Sprint(now.Unix())
		return browserEnvelope("messages", map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Ana Souza"}, "wa_id": "5511912345678"}},
			"messages": []any{m},
		})
	}
	browserPostWebhook(t, app, from(map[string]any{"id": "wamid.live.edit", "type": "edit",
		"edit": map[string]any{"original_message_id": "wamid.ana1", "message": map[string]any{"type": "text", "text": map[string]any{"body": "Vocês têm o bolo de chocolate?"}}}}))
	browserPostWebhook(t, app, from(map[string]any{"id": "wamid.live.react", "type": "reaction",
		"reaction": map[string]any{"message_id": "wamid.ana1", "emoji": "🎂"}}))
	browserPostWebhook(t, app, browserEnvelope("messages", map[string]any{"statuses": []any{map[string]any{
		"id": "wamid.ana4", "status": "read", "timestamp": fmt.Sprint(now.Unix()), "recipient_id": "5511912345678"}}}))

	edited := `[data-wamid="wamid.ana1"]`
	waitFor(t, b, 3*time.Second, fmt.Sprintf(`(() => { const b = document.querySelector(%q);
		return !!b && window.__sameDocument === true && b.querySelector('[data-testid="bubble-text"]').textContent === "Vocês têm o bolo de chocolate?"
			&& !!b.querySelector('[data-testid="bubble-edited"]') && (b.querySelector('[data-testid="reactions"]') || {}).textContent === "🎂"; })()`, edited))
	waitFor(t, b, 3*time.Second, `(document.querySelector('[data-wamid="wamid.ana4"] [data-testid="ticks"]') || {}).dataset?.status === "read"`)
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="bubble"]').length`)); n != bubbles {
		t.Fatalf("%d bubbles after the changes, %d before: a change was listed as a message", n, bubbles)
	}
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('template[data-chat-changes]').length`)); n != 0 {
		t.Fatalf("%d change templates left in the page", n)
	}
	// The timeline button of a replaced bubble still works (htmx wired it up).
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="chat-end"]').length`)); n != 1 {
		t.Fatalf("%d end markers", n)
	}
}
