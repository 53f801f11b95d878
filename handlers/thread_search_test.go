package handlers_test

import (
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
	"coexhistory/internal/store/storetest"
)

// A thread's search box searches that conversation only: its number and its contact.
func TestSearchThisConversation(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			_, page := agent.Get("/threads/"+itoa(f.ana.ID), nil)
			form := convDoc(t, page).Find(`form[data-testid="thread-search"]`)
			if form.Length() != 1 || form.AttrOr("action", "") != "/search" {
				t.Fatalf("no search form on the thread:\n%.2000s", page)
			}
			q := url.Values{"q": {"bolo"}}
			for _, name := range []string{"phone_number_id", "contact"} {
				v, ok := form.Find(`input[name="` + name + `"]`).Attr("value")
				if !ok || v == "" {
					t.Fatalf("the form has no %s", name)
				}
				q.Set(name, v)
			}
			if q.Get("contact") != f.ana.ContactWAID || q.Get("phone_number_id") != f.ana.PhoneNumberID {
				t.Fatalf("form filters %v, want Ana's thread", q)
			}
			hits := func(q url.Values) []string {
				_, body := agent.Get("/search?"+q.Encode(), nil)
				var out []string
				convDoc(t, body).Find(`[data-testid="search-result"]`).Each(func(_ int, s *goquery.Selection) {
					out = append(out, s.AttrOr("data-wamid", ""))
				})
				sort.Strings(out)
				return out
			}
			if got := hits(q); strings.Join(got, ",") != "wamid.ana0,wamid.ana1" {
				t.Fatalf("searching the conversation found %v, want Ana's two messages with bolo", got)
			}
			if got := hits(url.Values{"q": {"bolo"}}); len(got) <= 2 {
				t.Fatalf("searching everything found %v: the fixture needs a hit elsewhere for this test to mean anything", got)
			}
		})
	}
}

// TestBrowserSearchThisConversation: from a thread, the search box finds that
// conversation's messages only, and a hit opens the thread at the message, highlighted.
func TestBrowserSearchThisConversation(t *testing.T) {
	app, f := convApp(t, "mysql")
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)
	b.Run(
		chromedp.Navigate(app.Server.URL+"/threads/"+itoa(f.ana.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="thread-search-q"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="thread-search-q"]`), "cenoura"),
		chromedp.Click(chromedp.CSS(`[data-testid="thread-search-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-result"]`)),
	)
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="search-result"]').length`)); n != 1 {
		t.Fatalf("%d results, want Ana's one message with cenoura", n)
	}
	b.Run(
		chromedp.Click(chromedp.CSS(`[data-testid="search-result-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.bubble.is-highlighted`)),
	)
	if got := browsertest.Get(b, chromedp.Evaluate[string](`document.querySelector('.bubble.is-highlighted').dataset.wamid`)); got != "wamid.ana1" {
		t.Fatalf("highlighted %q", got)
	}
}
