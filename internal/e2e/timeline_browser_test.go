package e2e_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
	"coexhistory/internal/sim"
	"coexhistory/internal/store"
)

// statusWords are the delivery statuses as the timeline names them.
var statusWords = map[string]string{
	"sent": "Sent", "delivered": "Delivered", "read": "Read", "played": "Played", "error": "Failed",
}

// browserStep is a timeline step as the page shows it.
type browserStep struct {
	Status string `json:"status"`
	Source string `json:"source"`
	Text   string `json:"text"`
}

// wantStep is a step the timeline of a generated message must show.
type wantStep struct{ status, source string }

// expectedSteps are the steps of a generated outbound message: one per event of Meta's
// events API (v25), in time order, the history snapshot joining the step of its status, or
// after them, without time, when no event has it (an audio message's PLAYED).
func expectedSteps(m sim.MessageRecord) []wantStep {
	snapshot := strings.ToLower(m.Status)
	var out []wantStep
	joined := false
	for _, e := range sim.EventsOf(m, 25) {
		s := wantStep{status: strings.ToLower(e.DeliveryStatus), source: "api"}
		if s.status == snapshot {
			s.source, joined = "api snapshot", true
		}
		out = append(out, s)
	}
	if !joined {
		out = append(out, wantStep{status: snapshot, source: "snapshot"})
	}
	return out
}

// TestBrowserOpensDeliveryTimeline syncs a simulated history into the app, signs in with a
// real browser, opens a conversation with messages the business sent, and opens the
// delivery timeline of the first one: its steps come from Meta's events API (the
// simulator's) merged with the history snapshot. Refresh asks Meta again; opening it once
// more within the cache time does not.
func TestBrowserOpensDeliveryTimeline(t *testing.T) {
	started := time.Now()
	hist := sim.HistoryConfig{Seed: 7, Contacts: 8, Messages: 300, ChunkSize: 50, Now: time.Now().UTC().Truncate(time.Second)}
	r := newRig(t, store.MySQL, hist, sim.Faults{})
	r.syncAndIngest(t)

	// The conversation with the most messages the business sent (reactions aside).
	var thread apiThread
	most := -1
	for _, th := range r.threads(t) {
		outbound := 0
		for _, m := range r.messages(t, th.ID) {
			if m.Direction == "outbound" {
				outbound++
			}
		}
		if outbound > most {
			thread, most = th, outbound
		}
	}
	if most < 3 {
		t.Fatalf("no conversation has 3 outbound messages (at most %d)", most)
	}

	b := browsertest.New(t, browsertest.WithTimeout(30*time.Second))
	b.Run(
		chromedp.Navigate(fmt.Sprintf("%s/threads/%d", r.app.Server.URL, thread.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), apptest.AgentEmail),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), apptest.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="open-timeline"]`)),
	)
	wamid := browsertest.Get(b, chromedp.Evaluate[string](
		`document.querySelector('[data-testid="open-timeline"]').closest('[data-testid="bubble"]').dataset.wamid`))
	msg, ok := r.history.Message(wamid)
	if !ok || !msg.Outbound {
		t.Fatalf("the first Delivery button belongs to %q, not a generated outbound message (found %v)", wamid, ok)
	}
	want := expectedSteps(msg)
	eventsAsked := func() int {
		n := 0
		for _, q := range r.sim.Stats().Requests {
			if q.Method == "GET" && strings.HasSuffix(q.Path, "/"+msg.HistoryID+"/events") && q.Status == 200 {
				n++
			}
		}
		return n
	}

	bubble := `[data-testid="bubble"][data-wamid="` + wamid + `"]`
	timeline := bubble + ` [data-testid="timeline"]`
	sel, _ := json.Marshal(timeline)
	// readTimeline waits for a timeline in the bubble that is not the one marked as seen
	// (HTMX swapped a new one in), then returns its steps and marks it.
	readTimeline := func(what string) []browserStep {
		t.Helper()
		ready := fmt.Sprintf(`(() => { const tl = document.querySelector(%s);
			return !!tl && !tl.hasAttribute("data-e2e-seen") && tl.querySelectorAll('[data-testid="timeline-step"]').length > 0; })()`, sel)
		if !browsertest.Get(b, chromedp.Poll[bool](ready, chromedp.WithPollingInterval(50*time.Millisecond))) {
			t.Fatalf("%s: no timeline with steps", what)
		}
		raw := browsertest.Get(b, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const tl = document.querySelector(%s);
			tl.setAttribute("data-e2e-seen", "");
			return JSON.stringify([...tl.querySelectorAll('[data-testid="timeline-step"]')].map(li =>
				({status: li.dataset.status, source: li.dataset.source, text: li.textContent.replace(/\s+/g, " ").trim()}))); })()`, sel)))
		var steps []browserStep
		if err := json.Unmarshal([]byte(raw), &steps); err != nil {
			t.Fatalf("%s: steps %q: %v", what, raw, err)
		}
		return steps
	}
	checkSteps := func(what string, got []browserStep) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d steps %+v, want %+v (message status %s)", what, len(got), got, want, msg.Status)
		}
		for i, w := range want {
			g := got[i]
			if g.Status != w.status || g.Source != w.source || !strings.Contains(g.Text, statusWords[w.status]) {
				t.Fatalf("%s: step %d is %+v, want %s from %q", what, i+1, g, statusWords[w.status], w.source)
			}
			if strings.Contains(w.source, "api") && strings.Contains(g.Text, "Snapshot, no time") {
				t.Fatalf("%s: step %d from Meta's events API shows no time: %q", what, i+1, g.Text)
			}
		}
		wantStatus := strings.ToLower(msg.Status)
		if got := b.Text(timeline + ` [data-testid="timeline-status"]`); got != statusWords[wantStatus] {
			t.Fatalf("%s: timeline status %q, want %q", what, got, statusWords[wantStatus])
		}
		if note := browsertest.Get(b, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelector(%s).querySelectorAll('[data-testid="timeline-note"]').length`, sel))); note != 0 {
			t.Fatalf("%s: the timeline shows a note: %q", what, b.Text(timeline+` [data-testid="timeline-note"]`))
		}
	}
	fetched := func() string { return b.Text(timeline + ` [data-testid="timeline-fetched"]`) }

	// Open it: Meta is asked.
	b.Run(chromedp.Click(chromedp.CSS(bubble + ` [data-testid="open-timeline"]`)))
	checkSteps("opened", readTimeline("opened"))
	if n := eventsAsked(); n != 1 {
		t.Fatalf("Meta's events were asked %d times after opening the timeline, want 1", n)
	}
	if f := fetched(); !strings.HasPrefix(f, "Last asked Meta") || strings.Contains(f, "cached") {
		t.Fatalf("opened: fetched line %q", f)
	}

	// Refresh: Meta is asked again, the timeline replaces itself with the same steps.
	b.Run(browsertest.Idle(), chromedp.Click(chromedp.CSS(timeline+` [data-testid="timeline-refresh"]`)))
	checkSteps("refreshed", readTimeline("refreshed"))
	if n := eventsAsked(); n != 2 {
		t.Fatalf("Meta's events were asked %d times after Refresh, want 2", n)
	}
	if f := fetched(); strings.Contains(f, "cached") {
		t.Fatalf("refreshed: fetched line %q", f)
	}

	// Open it again within the cache time: the stored events, Meta not asked.
	b.Run(browsertest.Idle(), chromedp.Click(chromedp.CSS(bubble+` [data-testid="open-timeline"]`)))
	checkSteps("reopened", readTimeline("reopened"))
	if n := eventsAsked(); n != 2 {
		t.Fatalf("Meta's events were asked %d times after reopening within the cache time, want 2", n)
	}
	if f := fetched(); !strings.Contains(f, "(cached)") {
		t.Fatalf("reopened: fetched line %q, want it marked cached", f)
	}
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="timeline"]').length`)); n != 1 {
		t.Fatalf("%d timelines on the page, want 1", n)
	}
	if d := b.Dialogs(); len(d) != 0 {
		t.Fatalf("dialogs opened: %v", d)
	}
	t.Logf("timeline of %s (%s, %d steps) in thread %d with %d outbound messages; whole test %s",
		wamid, msg.Status, len(want), thread.ID, most, time.Since(started).Round(time.Millisecond))
}
