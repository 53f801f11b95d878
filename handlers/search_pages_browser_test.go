package handlers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
)

// TestBrowserSearchLoadMoreSurvivesBack: "Load more" twice, away to another page, Back: all
// 75 results are there again (the address holds the pages shown), and the same address
// opened fresh shows them too.
func TestBrowserSearchLoadMoreSurvivesBack(t *testing.T) {
	app, _ := convApp(t, "sqlite")
	b := browsertest.New(t)
	browserLogin(b, app, apptest.AgentEmail)
	count := `document.querySelectorAll('[data-testid="search-result"]').length`
	// loadMore clicks "Load more" once htmx has taken up the button (it is swapped in new
	// with each page).
	loadMore := func() {
		t.Helper()
		waitFor(t, b, 5*time.Second, `(() => { const e = document.querySelector('[data-testid="search-load-more"]');
			return !!(e && e['htmx-internal-data'] && e['htmx-internal-data'].initHash); })()`)
		b.Run(chromedp.Click(chromedp.CSS(`[data-testid="search-load-more"]`)))
	}
	b.Run(chromedp.Navigate(app.Server.URL + "/search?q=encomenda"))
	loadMore()
	waitFor(t, b, 5*time.Second, count+` === 50`)
	loadMore()
	waitFor(t, b, 5*time.Second, count+` === 75`)
	waitFor(t, b, 2*time.Second, `location.search.includes("pages=3")`)
	loc := browsertest.Get(b, chromedp.Location())
	if strings.Contains(loc, "cursor=") || !strings.Contains(loc, "q=encomenda") {
		t.Fatalf("address after two Load more: %s", loc)
	}
	b.Run(
		chromedp.Navigate(app.Server.URL+"/conversations"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversation"]`)),
		chromedp.NavigateBack(),
	)
	waitFor(t, b, 5*time.Second, `location.search.includes("pages=3") && `+count+` === 75`)
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="search-load-more"]').length`)); n != 1 {
		t.Fatalf("%d Load more buttons after Back", n)
	}
	// A shared link: the same address in a fresh load.
	b.Run(chromedp.Navigate(loc), chromedp.WaitVisible(chromedp.CSS(`[data-testid="search-result"]`)))
	waitFor(t, b, 5*time.Second, count+` === 75`)
	// Loading more from the restored page goes on from the 75th result.
	loadMore()
	waitFor(t, b, 5*time.Second, count+` === 100 && location.search.includes("pages=4")`)
	ids := browsertest.Get(b, chromedp.Evaluate[int](`new Set([...document.querySelectorAll('[data-testid="search-result"]')].map(e => e.dataset.wamid)).size`))
	if ids != 100 {
		t.Fatalf("%d distinct results of 100", ids)
	}
}
