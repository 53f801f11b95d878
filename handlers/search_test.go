package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// resultWAMIDs lists the wamids of the search results on a page or fragment.
func resultWAMIDs(d *goquery.Document) []string {
	return convAttrs(d.Find(`[data-testid=search-result]`), "data-wamid")
}

func TestSearchPage(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)

			// No query, no filter: the empty state, and the whole page.
			res, body := agent.Get("/search", nil)
			d := convDoc(t, body)
			if res.StatusCode != http.StatusOK || d.Find(`[data-testid=search-empty]`).Length() != 1 || d.Find(".topbar a.is-current").Text() != "Search" {
				t.Fatalf("empty search page = %d: %.300s", res.StatusCode, body)
			}
			if res.Header.Get("Vary") != "HX-Request" {
				t.Fatalf("Vary %q", res.Header.Get("Vary"))
			}
			if got := convAttrs(d.Find(`#f-phone_number_id option`), "value"); strings.Join(got, ",") != ","+convPNID+","+convPNID2 {
				t.Fatalf("number options %v", got)
			}

			// A full page load of a search URL renders its results (a shared link, a reload).
			res, body = agent.Get("/search?q=bolo", nil)
			d = convDoc(t, body)
			if res.StatusCode != http.StatusOK || d.Find(".topbar").Length() != 1 {
				t.Fatalf("search page = %d", res.StatusCode)
			}
			if got := resultWAMIDs(d); strings.Join(got, " ") != "wamid.ana1 wamid.other1 wamid.ana0" {
				t.Fatalf("results %v", got)
			}
			// One page holds them all: the count is exact, with no further request.
			if cnt := d.Find(`[data-testid=search-count]`); strings.TrimSpace(cnt.Text()) != "3 messages match." || cnt.AttrOr("hx-get", "") != "" {
				t.Fatalf("count %q", cnt.Text())
			}
			if got := d.Find(`#f-q`).AttrOr("value", ""); got != "bolo" {
				t.Fatalf("search box keeps %q", got)
			}
			first := d.Find(`[data-testid=search-result]`).First()
			if got := first.Find(`[data-testid=snippet] mark`).Text(); got != "bolo" {
				t.Fatalf("highlight %q", got)
			}
			if got := first.Find(`[data-testid=snippet]`).Text(); got != "Oi! Vocês ainda têm o bolo de cenoura para sábado?" {
				t.Fatalf("snippet %q", got)
			}
			if href := first.Find(`[data-testid=search-result-link]`).AttrOr("href", ""); href != fmt.Sprintf("/threads/%d?at=wamid.ana1#hit", f.ana.ID) {
				t.Fatalf("result link %q", href)
			}
			head := first.Find(".result-head").Text()
			for _, want := range []string{"Ana Souza", "+5511912345678", "Doces da Vila", "history", "received"} {
				if !strings.Contains(head, want) {
					t.Errorf("result head %q lacks %q", head, want)
				}
			}
			if strings.Contains(head, "Read") { // an inbound message has no delivery state to show
				t.Errorf("inbound result head %q shows a status", head)
			}
			if got := d.Find(`[data-wamid="wamid.other1"] .result-head`).Text(); !strings.Contains(got, "Outra Loja") {
				t.Errorf("second number's label missing: %q", got)
			}

			// The HTMX form submit: the results region, and the clean URL to push.
			res, body = agent.Get("/search?q=bolo&phone_number_id=&contact=&from=&to=&direction=&type=&status=&origin=&sort=newest", apptest.HX())
			d = convDoc(t, body)
			if res.StatusCode != http.StatusOK || d.Find(".topbar, form").Length() != 0 || len(resultWAMIDs(d)) != 3 {
				t.Fatalf("fragment = %d: %.300s", res.StatusCode, body)
			}
			if got := res.Header.Get("HX-Push-Url"); got != "/search?q=bolo" {
				t.Fatalf("HX-Push-Url %q", got)
			}
			// Back button with an empty history cache: HTMX asks for the whole page.
			_, body = agent.Get("/search?q=bolo", http.Header{"HX-Request": {"true"}, "HX-History-Restore-Request": {"true"}})
			if convDoc(t, body).Find(".topbar").Length() != 1 {
				t.Fatal("history restore got a fragment")
			}

			// Filters, alone and combined.
			cases := []struct {
				query string
				want  string
			}{
				{"q=bolo&phone_number_id=" + convPNID2, "wamid.other1"},
				{"q=bolo&contact=5511912", "wamid.ana1 wamid.other1 wamid.ana0"},
				{"q=bolo&contact=bruno", ""},
				{"q=bolo&from=2025-10-01&to=2025-10-31", "wamid.other1"},
				{"q=bolo&to=2025-09-20", "wamid.ana0"},
				{"origin=echo", "wamid.ana6"},
				{"direction=outbound&status=delivered", "wamid.ana6 wamid.ana4"},
				{"type=location", "wamid.ana4"},
				{"q=bolo+-chocolate", "wamid.ana1 wamid.ana0"},
				{`q="pedido+4471"`, "wamid.bruno2"},
				{`q="pedido+confirmado"`, ""},
				{"q=agradec*", "wamid.bruno2"},
				{"q=confirmado&status=failed", ""},
				{"q=inexistentezzz", ""},
			}
			for _, tc := range cases {
				res, body := agent.Get("/search?"+tc.query, apptest.HX())
				d := convDoc(t, body)
				if got := strings.Join(resultWAMIDs(d), " "); res.StatusCode != http.StatusOK || got != tc.want {
					t.Errorf("%s = %d %q, want %q", tc.query, res.StatusCode, got, tc.want)
				}
				if tc.want == "" && d.Find(`[data-testid=search-no-results]`).Length() != 1 {
					t.Errorf("%s: no no-results state", tc.query)
				}
			}
			// By relevance: the same set.
			_, body = agent.Get("/search?q=bolo&sort=relevance", apptest.HX())
			got := resultWAMIDs(convDoc(t, body))
			sort.Strings(got)
			if strings.Join(got, " ") != "wamid.ana0 wamid.ana1 wamid.other1" {
				t.Fatalf("relevance results %v", got)
			}

			// Bad input is a friendly message in place of results, never a 500.
			for _, tc := range []struct{ query, want string }{
				{"q=bolo&from=31/12/2025", "Dates look like 2025-01-31."},
				{"q=bolo&from=2025-10-02&to=2025-10-01", "end date is before the start date"},
				{"q=bolo&direction=sideways", "Unknown direction"},
				{"q=bolo&cursor=garbage", "no longer valid"},
				{"q=bolo&sort=relevance&cursor=" + url.QueryEscape("bjEwfDE"), "no longer valid"},
			} {
				for _, hx := range []bool{false, true} {
					var h http.Header
					if hx {
						h = apptest.HX()
					}
					res, body := agent.Get("/search?"+tc.query, h)
					d := convDoc(t, body)
					if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(d.Find(`[data-testid=search-error]`).Text(), tc.want) {
						t.Errorf("%s (hx %v) = %d: %.300s", tc.query, hx, res.StatusCode, body)
					}
					if !hx && d.Find(`#f-q`).AttrOr("value", "") != "bolo" {
						t.Errorf("%s: the form lost what was typed", tc.query)
					}
				}
			}

			// Hostile text is shown as text, highlighted safely.
			_, body = agent.Get("/search?q=alert", nil)
			d = convDoc(t, body)
			if got := resultWAMIDs(d); len(got) != 1 || got[0] != "wamid.ana5" {
				t.Fatalf("hostile search %v", got)
			}
			if got := d.Find(`[data-testid=snippet]`).Text(); got != convHostile {
				t.Fatalf("hostile snippet %q", got)
			}
			if n := d.Find(`[data-testid=snippet] mark`).Length(); n != 3 {
				t.Fatalf("%d marks, want 3", n)
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, `href="javascript:`) {
				t.Fatal("hostile markup in the page")
			}
		})
	}
}

// TestSearchLoadMore walks every page with "Load more": nothing repeats, nothing is skipped,
// and the pages are not pushed to the URL.
func TestSearchLoadMore(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, _ := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			for _, sortOrder := range []string{"newest", "relevance"} {
				_, body := agent.Get("/search?q=encomenda&sort="+sortOrder, nil)
				d := convDoc(t, body)
				seen := resultWAMIDs(d)
				more := d.Find(`[data-testid=search-load-more]`).AttrOr("hx-get", "")
				// More than one page: the count comes in its own request.
				countURL := d.Find(`[data-testid=search-count]`).AttrOr("hx-get", "")
				if !strings.Contains(countURL, "count=1") || !strings.Contains(countURL, "q=encomenda") {
					t.Fatalf("%s: count placeholder hx-get %q", sortOrder, countURL)
				}
				if _, cb := agent.Get(countURL, apptest.HX()); strings.TrimSpace(convDoc(t, cb).Find(`[data-testid=search-count]`).Text()) != "450 messages match." {
					t.Fatalf("%s: count fragment %q", sortOrder, cb)
				}
				if len(seen) != 25 || more == "" {
					t.Fatalf("%s: first page %d results, more %q", sortOrder, len(seen), more)
				}
				for pages := 0; more != ""; pages++ {
					if pages > 30 {
						t.Fatal("load more never ends")
					}
					res, frag := agent.Get(more, apptest.HX())
					push := res.Header.Get("HX-Push-Url")
					if res.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(frag), "<li") {
						t.Fatalf("load more = %d: %.200s", res.StatusCode, frag)
					}
					// The address bar keeps the pages shown, without the cursor.
					if want := fmt.Sprintf("pages=%d", pages+2); !strings.Contains(push, want) || strings.Contains(push, "cursor=") || !strings.Contains(push, "q=encomenda") {
						t.Fatalf("load more pushed %q, want the search with %s", push, want)
					}
					fd := convDoc(t, "<ol>"+frag+"</ol>")
					seen = append(seen, resultWAMIDs(fd)...)
					more = fd.Find(`[data-testid=search-load-more]`).AttrOr("hx-get", "")
				}
				unique := map[string]bool{}
				for _, w := range seen {
					unique[w] = true
				}
				if len(seen) != convLongCount || len(unique) != convLongCount {
					t.Fatalf("%s: %d results, %d unique, want %d", sortOrder, len(seen), len(unique), convLongCount)
				}
				if sortOrder == "newest" && (seen[0] != "wamid.carla449" || seen[len(seen)-1] != "wamid.carla000") {
					t.Fatalf("newest first: %s … %s", seen[0], seen[len(seen)-1])
				}
				// The pushed address restores every page loaded, in the same order.
				_, body = agent.Get("/search?q=encomenda&sort="+sortOrder+"&pages=3", nil)
				d = convDoc(t, body)
				got := resultWAMIDs(d)
				if len(got) != 75 || strings.Join(got, ",") != strings.Join(seen[:75], ",") {
					t.Fatalf("%s: pages=3 shows %d results, want the first 75 in order", sortOrder, len(got))
				}
				if more := d.Find(`[data-testid=search-load-more]`).AttrOr("hx-get", ""); !strings.Contains(more, "pages=4") || !strings.Contains(more, "cursor=") {
					t.Fatalf("%s: load more after 3 pages %q", sortOrder, more)
				}
				// Past the last page, and junk, are bounded.
				_, body = agent.Get("/search?q=encomenda&sort="+sortOrder+"&pages=999", nil)
				if n := len(resultWAMIDs(convDoc(t, body))); n != convLongCount {
					t.Fatalf("%s: pages=999 shows %d results, want all %d", sortOrder, n, convLongCount)
				}
				_, body = agent.Get("/search?q=encomenda&sort="+sortOrder+"&pages=x", nil)
				if n := len(resultWAMIDs(convDoc(t, body))); n != 25 {
					t.Fatalf("%s: pages=x shows %d results", sortOrder, n)
				}
			}
		})
	}
}

func TestSearchAPI(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			token := app.Token(models.RoleAgent)
			type page struct {
				Data       []map[string]any `json:"data"`
				NextCursor string           `json:"next_cursor"`
			}
			get := func(query string) (int, page, string) {
				res, body := app.API("GET", "/api/v1/search?"+query, token, nil)
				var p page
				if res.StatusCode == http.StatusOK {
					if err := json.Unmarshal([]byte(body), &p); err != nil {
						t.Fatalf("%s: %v", body, err)
					}
				}
				return res.StatusCode, p, body
			}
			status, p, body := get("q=bolo&limit=2")
			if status != http.StatusOK || len(p.Data) != 2 || p.NextCursor == "" {
				t.Fatalf("page 1 = %d: %s", status, body)
			}
			r := p.Data[0]
			for _, k := range []string{"wamid", "thread_id", "contact_wa_id", "timestamp", "text", "snippet"} {
				if _, ok := r[k]; !ok {
					t.Fatalf("result lacks %q: %v", k, r)
				}
			}
			if r["wamid"] != "wamid.ana1" || r["thread_id"] != float64(f.ana.ID) || r["contact_wa_id"] != "5511912345678" ||
				r["timestamp"] != float64(convTS(0, "9h55m")) || r["text"] != "Oi! Vocês ainda têm o bolo de cenoura para sábado?" {
				t.Fatalf("first result %v", r)
			}
			snippet, _ := json.Marshal(r["snippet"])
			if string(snippet) != `[{"text":"Oi! Vocês ainda têm o "},{"match":true,"text":"bolo"},{"text":" de cenoura para sábado?"}]` {
				t.Fatalf("snippet %s", snippet)
			}
			status, p2, body := get("q=bolo&limit=2&cursor=" + url.QueryEscape(p.NextCursor))
			if status != http.StatusOK || len(p2.Data) != 1 || p2.Data[0]["wamid"] != "wamid.ana0" || p2.NextCursor != "" {
				t.Fatalf("page 2 = %d: %s", status, body)
			}
			// Filters only, and every filter of the API.
			if _, p, body := get("phone_number_id=" + convPNID + "&contact=ana&from=2025-01-01&to=2030-01-01&direction=outbound&type=image&status=delivered&origin=echo"); len(p.Data) != 1 || p.Data[0]["wamid"] != "wamid.ana6" {
				t.Fatalf("all filters: %s", body)
			}
			for _, tc := range []struct{ query, want string }{
				{"q=bolo&from=yesterday", "Dates look like"},
				{"q=bolo&cursor=nope", "no longer valid"},
				{"q=bolo&limit=1000", "limit must be"},
				{"q=bolo&origin=fax", "Unknown origin"},
			} {
				status, _, body := get(tc.query)
				if status != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
					t.Errorf("%s = %d: %s", tc.query, status, body)
				}
			}
			if res, _ := app.API("GET", "/api/v1/search?q=bolo", "", nil); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("no token = %d", res.StatusCode)
			}
		})
	}
}

// TestSearchCountBound: past 500 matches the count says "more than 500" (and stops reading).
func TestSearchCountBound(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	msgs := make([]convMsg, 520)
	for i := range msgs {
		msgs[i] = convMsg{wamid: fmt.Sprintf("wamid.many%03d", i), direction: "inbound", typ: "text", text: "pedido numero " + fmt.Sprint(i),
			status: "read", origin: "history", ts: 1760000000 + int64(i)}
	}
	convThread(t, app.DB, convPNID, "5511900000001", "Muitos Pedidos", msgs)
	agent := app.Login(apptest.AgentEmail)
	_, body := agent.Get("/search?q=pedido", nil)
	countURL := convDoc(t, body).Find(`[data-testid=search-count]`).AttrOr("hx-get", "")
	if countURL == "" {
		t.Fatal("no count request for 520 matches")
	}
	_, frag := agent.Get(countURL, apptest.HX())
	if got := strings.TrimSpace(convDoc(t, frag).Find(`[data-testid=search-count]`).Text()); got != "More than 500 messages match." {
		t.Fatalf("count %q", got)
	}
}
