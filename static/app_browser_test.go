package static_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/browsertest"
	"coexhistory/static"
)

// fixture is a page shaped like the real layout (CSRF meta tag, #flash region, the real
// app.css/htmx/app.js through the real asset handler, a strict CSP) and a few endpoints
// answering the way the handlers do.
type fixture struct {
	srv *httptest.Server

	mu         sync.Mutex
	csrfTokens []string // X-CSRF-Token of each htmx request, in order
	queries    []string // query strings the filter form sent
}

const csrfToken = "tok-123"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", assets)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:")
		fmt.Fprint(w, pageHTML(assets, time.Now().Add(-5*time.Minute)))
	})
	record := func(r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.csrfTokens = append(f.csrfTokens, r.Header.Get("X-CSRF-Token"))
	}
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.PostForm.Get("label") == "" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, formHTML(`<small class="field-error" data-testid="error-label">Give the number a label.</small>`))
			return
		}
		w.Header().Set("HX-Trigger", `{"flash":{"message":"Saved <b>`+html.EscapeString(r.PostForm.Get("label"))+`</b>","kind":"success"}}`)
		fmt.Fprint(w, `<p data-testid="saved">Saved</p>`)
	})
	mux.HandleFunc("POST /conflict", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `<div class="alert alert-error" role="alert" data-testid="error">The sync already ran for this number.<small class="muted">Reference: req-7</small></div>`)
	})
	mux.HandleFunc("POST /crash", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		http.Error(w, "", http.StatusInternalServerError)
	})
	mux.HandleFunc("DELETE /row", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /results", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.RawQuery)
		f.mu.Unlock()
		fmt.Fprintf(w, `<p data-testid="results">%s</p>`, html.EscapeString(r.URL.Query().Get("state")))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func formHTML(errorHTML string) string {
	return `<form id="form" hx-post="/form" hx-target="this" hx-swap="outerHTML" data-testid="form">
<label for="f-label">Label</label><input id="f-label" name="label" aria-invalid="` + fmt.Sprint(errorHTML != "") + `">` + errorHTML + `
<button type="submit" id="save">Save</button></form>`
}

func pageHTML(assets *static.Assets, fiveMinutesAgo time.Time) string {
	return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="csrf-token" content="` + csrfToken + `">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}'>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="` + assets.Path("css/app.css") + `">
<script src="` + assets.Path("js/htmx.min.js") + `" defer></script>
<script src="` + assets.Path("js/app.js") + `" defer></script>
<title>fixture</title></head><body><main>
` + formHTML("") + `
<button id="conflict" hx-post="/conflict" hx-target="#target">Conflict</button>
<button id="crash" hx-post="/crash" hx-target="#target">Crash</button>
<div id="target" data-testid="target">untouched</div>
<table><tr id="row"><td>row</td><td><button id="delete" hx-delete="/row" hx-target="#row" hx-swap="outerHTML" hx-confirm="Remove it?">Remove</button></td></tr></table>
<time id="ago" datetime="` + fiveMinutesAgo.UTC().Format(time.RFC3339) + `" data-relative title="exact">` + fiveMinutesAgo.UTC().Format("2006-01-02 15:04") + `</time>
<time id="old" datetime="2020-01-02T03:04:05Z" data-relative title="2020-01-02 00:04:05 -03">2020-01-02 00:04</time>
<form id="filters" hx-get="/results" hx-target="#results" data-autosubmit>
<select id="state" name="state"><option value="">any</option><option value="failed">failed</option></select>
</form>
<div id="results"></div>
<code id="wamid" data-copy>wamid.HBgL</code>
</main><div id="flash" class="toasts" aria-live="polite" data-testid="flash"></div></body></html>`
}

func (f *fixture) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.csrfTokens...)
}

func TestAppJS(t *testing.T) {
	f := newFixture(t)
	b := browsertest.New(t)
	b.Run(
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitReady(chromedp.CSS("#flash")),
	)
	// app.js has run once htmx processed the page.
	browsertest.Get(b, chromedp.Poll[bool](`window.htmx && htmx.config.responseHandling.length === 5`))

	t.Run("422 re-renders the form inline", func(t *testing.T) {
		b.Run(chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-label"]`)))
		if got := b.Text(`#form [data-testid="error-label"]`); got != "Give the number a label." {
			t.Errorf("inline error = %q", got)
		}
		if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll("#flash .toast").length`)); n != 0 {
			t.Errorf("a 422 made %d toasts, want none", n)
		}
	})

	t.Run("2xx swaps and HX-Trigger flash shows a toast as text", func(t *testing.T) {
		b.Run(
			browsertest.Idle(), // the form the 422 swapped in
			chromedp.SendKeys(chromedp.CSS("#f-label"), "Loja Centro"),
			chromedp.Click(chromedp.CSS("#save")),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="saved"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#flash .toast-success`)),
		)
		if got := b.Text("#flash .toast-success .toast-body"); got != "Saved <b>Loja Centro</b>" {
			t.Errorf("toast text = %q, want the message as plain text", got)
		}
		b.Run(chromedp.Click(chromedp.CSS("#flash .toast-success .toast-close")),
			chromedp.WaitNotPresent(chromedp.CSS("#flash .toast-success")))
	})

	t.Run("4xx error fragment becomes an error toast, target untouched", func(t *testing.T) {
		b.Run(chromedp.Click(chromedp.CSS("#conflict")), chromedp.WaitVisible(chromedp.CSS(`#flash .toast-error [data-testid="error"]`)))
		if got := b.Text(`#flash .toast-error [data-testid="error"]`); !strings.HasPrefix(got, "The sync already ran for this number.") {
			t.Errorf("error toast = %q", got)
		}
		if got := b.Text("#target"); got != "untouched" {
			t.Errorf("target after a 409 = %q, want untouched", got)
		}
		if role := browsertest.Get(b, chromedp.Evaluate[string](`document.querySelector("#flash .toast-error").getAttribute("role")`)); role != "alert" {
			t.Errorf("error toast role = %q, want alert", role)
		}
		b.Run(chromedp.Click(chromedp.CSS("#flash .toast-error .toast-close")), chromedp.WaitNotPresent(chromedp.CSS("#flash .toast-error")))
	})

	t.Run("5xx without a body gives a generic error toast", func(t *testing.T) {
		b.Run(chromedp.Click(chromedp.CSS("#crash")), chromedp.WaitVisible(chromedp.CSS(`#flash .toast-error`)))
		if got := b.Text(`#flash .toast-error .toast-body`); got != "Something went wrong (HTTP 500). Please try again." {
			t.Errorf("error toast = %q", got)
		}
		b.Run(chromedp.Click(chromedp.CSS("#flash .toast-error .toast-close")))
	})

	t.Run("hx-confirm asks, 204 swaps nothing", func(t *testing.T) {
		b.Run(chromedp.Click(chromedp.CSS("#delete")))
		browsertest.Get(b, chromedp.Poll[bool](`document.querySelector("#delete") && !document.querySelector("#delete").classList.contains("htmx-request")`))
		if got := b.Dialogs(); len(got) != 1 || got[0] != "Remove it?" {
			t.Errorf("dialogs = %q, want [Remove it?]", got)
		}
		if got := b.Text("#row td"); got != "row" {
			t.Errorf("row after 204 = %q, want it unchanged", got)
		}
	})

	t.Run("every htmx request carries the CSRF token", func(t *testing.T) {
		got := f.tokens()
		if len(got) < 4 {
			t.Fatalf("recorded %d htmx requests, want at least 4", len(got))
		}
		for i, tok := range got {
			if tok != csrfToken {
				t.Errorf("request %d X-CSRF-Token = %q, want %q", i, tok, csrfToken)
			}
		}
	})

	t.Run("relative time with the exact time on hover", func(t *testing.T) {
		if got := b.Text("#ago"); got != "5 minutes ago" {
			t.Errorf("relative time = %q, want 5 minutes ago", got)
		}
		// The server wrote the exact time in the reader's zone: it stays as the title.
		title := browsertest.Get(b, chromedp.Evaluate[string](`document.getElementById("ago").title`))
		if title != "exact" {
			t.Errorf("title = %q, want the server's exact time kept", title)
		}
		// A week or more away: the server's text (in the reader's zone) stays.
		if got := b.Text("#old"); got != "2020-01-02 00:04" {
			t.Errorf("old time = %q, want the server's text", got)
		}
	})

	t.Run("autosubmit filter form", func(t *testing.T) {
		// SetValue fires input and change, as a user picking an option does.
		b.Run(chromedp.SetValue(chromedp.CSS("#state"), "failed"))
		browsertest.Get(b, chromedp.Poll[bool](`(document.querySelector('#results [data-testid="results"]') || {}).textContent === "failed"`))
		f.mu.Lock()
		queries := append([]string(nil), f.queries...)
		f.mu.Unlock()
		if len(queries) != 1 || queries[0] != "state=failed" {
			t.Errorf("filter form sent %q, want one request with state=failed", queries)
		}
	})

	t.Run("data-copy gives feedback", func(t *testing.T) {
		b.Run(chromedp.Click(chromedp.CSS("#wamid")), chromedp.WaitVisible(chromedp.CSS("#flash .toast")))
		got := b.Text("#flash .toast .toast-body")
		if got != "Copied to the clipboard." && got != "Could not copy. Select the text and press Ctrl+C." {
			t.Errorf("copy toast = %q", got)
		}
	})
}
