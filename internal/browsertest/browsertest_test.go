package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// recordingTB is a testing.TB whose failures, skips and cleanups are recorded instead of
// acting on the real test, so the tests can check what New and its cleanup would do.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	skipped  string
	fatal    string
	cleanups []func()
}

func (r *recordingTB) Cleanup(f func()) {
	r.mu.Lock()
	r.cleanups = append(r.cleanups, f)
	r.mu.Unlock()
}
func (r *recordingTB) Error(args ...any) {
	r.mu.Lock()
	r.errors = append(r.errors, fmt.Sprint(args...))
	r.mu.Unlock()
}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.Error(fmt.Sprintf(format, args...))
}
func (r *recordingTB) Failed() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.errors) > 0 }
func (r *recordingTB) Skip(args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// runCleanups runs the recorded cleanups, last first, as testing does.
func (r *recordingTB) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

// inGoroutine runs f as a test body would run: Skip and Fatal end it with Goexit.
func inGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func TestNewWithoutBrowser(t *testing.T) {
	tests := []struct {
		name      string
		chromium  string
		require   string
		wantSkip  string
		wantFatal string
	}{
		{name: "laptop without setup skips", wantSkip: "set COEX_TEST_CHROMIUM"},
		{name: "full run without chromium fails", require: "1", wantFatal: "COEX_TEST_CHROMIUM is not set"},
		{name: "missing binary fails", chromium: "/nonexistent/chromium", wantFatal: "/nonexistent/chromium"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvChromium, tc.chromium)
			t.Setenv(EnvRequire, tc.require)
			rec := &recordingTB{TB: t}
			inGoroutine(func() { New(rec) })
			if !strings.Contains(rec.skipped, tc.wantSkip) || (tc.wantSkip == "") != (rec.skipped == "") {
				t.Errorf("skip message = %q, want one containing %q", rec.skipped, tc.wantSkip)
			}
			if !strings.Contains(rec.fatal, tc.wantFatal) || (tc.wantFatal == "") != (rec.fatal == "") {
				t.Errorf("fatal message = %q, want one containing %q", rec.fatal, tc.wantFatal)
			}
		})
	}
}

// testSite serves the pages the browser tests use.
func testSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>t</title><link rel=icon href=data:,></head><body>%s</body></html>", body)
		}
	}
	mux.HandleFunc("GET /clean", page(`<p id="greeting">Hello</p>
<button id="ask" type="button">Ask</button><p id="answer"></p>
<img src="/missing.png" alt="">
<script>
console.log("just a log line");
console.warn("a warning is not an error");
document.getElementById("ask").addEventListener("click", function () {
  document.getElementById("answer").textContent = confirm("Sure?") ? "yes" : "no";
});
</script>`))
	mux.HandleFunc("GET /csp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; img-src 'self' data:")
		page(`<p id="status">inline script blocked</p><script>document.title = "ran"</script>`)(w, r)
	})
	mux.HandleFunc("GET /broken", page(`<p id="status">loading</p>
<script>
console.error("boom", 42);
setTimeout(function () { throw new Error("kaput"); }, 0);
fetch("/hangup").catch(function () {}).finally(function () {
  setTimeout(function () { document.getElementById("status").textContent = "done"; }, 50);
});
</script>`))
	// /hangup closes the connection without an answer: a failed load.
	mux.HandleFunc("GET /hangup", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestCleanPage(t *testing.T) {
	srv := testSite(t)
	b := New(t)
	b.Run(chromedp.Navigate(srv.URL + "/clean"))
	if got := b.Text("#greeting"); got != "Hello" {
		t.Errorf("greeting = %q, want Hello", got)
	}

	b.Run(chromedp.Click(chromedp.CSS("#ask")))
	if got := b.Text("#answer"); got != "yes" {
		t.Errorf("answer after accepting the confirm = %q, want yes", got)
	}
	if got := b.Dialogs(); len(got) != 1 || got[0] != "Sure?" {
		t.Errorf("dialogs = %q, want [Sure?]", got)
	}

	b.AcceptDialogs(false)
	b.Run(chromedp.Click(chromedp.CSS("#ask")))
	Get(b, chromedp.Poll[bool](`document.getElementById("answer").textContent === "no"`))

	// A log line, a warning and a 404 image are not console errors.
	if got := b.ConsoleErrors(); len(got) != 0 {
		t.Errorf("console errors on a clean page: %q", got)
	}
	title := Get(b, chromedp.Title())
	if title != "t" {
		t.Errorf("title = %q, want t", title)
	}
}

func TestConsoleErrorsFailTheTest(t *testing.T) {
	artifacts := t.TempDir()
	t.Setenv(EnvArtifacts, artifacts)
	srv := testSite(t)
	requireBrowser(t)

	rec := &recordingTB{TB: t}
	var b *Browser
	inGoroutine(func() {
		b = New(rec)
		b.Run(chromedp.Navigate(srv.URL + "/broken"))
		Get(b, chromedp.Poll[bool](`document.getElementById("status").textContent === "done"`))
		b.Run(chromedp.Navigate(srv.URL + "/csp"))
		b.Text("#status")
	})
	if rec.fatal != "" || rec.skipped != "" {
		t.Fatalf("browser did not run: fatal %q, skipped %q", rec.fatal, rec.skipped)
	}

	got := b.ConsoleErrors()
	want := []string{
		"console.error: boom 42",
		"uncaught exception: Uncaught: Error: kaput",
		"failed to load GET " + srv.URL + "/hangup: net::ERR_EMPTY_RESPONSE",
		"browser security error: Executing inline script violates the following Content Security Policy directive",
	}
	if len(got) != len(want) {
		t.Fatalf("console errors = %q, want %d entries like %q", got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("console error %d = %q, want prefix %q", i, got[i], want[i])
		}
	}

	rec.runCleanups()
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "4 console error(s)") || !strings.Contains(rec.errors[0], "boom 42") {
		t.Errorf("cleanup reported %q, want one error listing the 4 console errors", rec.errors)
	}
	shots, _ := filepath.Glob(filepath.Join(artifacts, "*.png"))
	if len(shots) != 1 {
		t.Fatalf("screenshots in %s: %q, want one", artifacts, shots)
	}
	png, err := os.ReadFile(shots[0])
	if err != nil || len(png) < 100 || string(png[1:4]) != "PNG" {
		t.Errorf("screenshot %s is not a PNG (%d bytes, err %v)", shots[0], len(png), err)
	}
}

func TestFinishOnCleanPageReportsNothing(t *testing.T) {
	srv := testSite(t)
	b := New(t)
	b.Run(chromedp.Navigate(srv.URL + "/clean"))
	if got := b.finish(); got != nil {
		t.Errorf("finish on a clean page = %q, want nothing", got)
	}
}

// requireBrowser skips or fails the real test as New would, before a recording TB is used.
func requireBrowser(t *testing.T) {
	t.Helper()
	chromiumPath(t)
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		u, doc string
		want   bool
	}{
		{"http://127.0.0.1:5000/a.js", "http://127.0.0.1:5000/", true},
		{"http://127.0.0.1:5001/a.js", "http://127.0.0.1:5000/", false},
		{"https://example.com/x", "http://127.0.0.1:5000/", false},
		{"data:,", "http://127.0.0.1:5000/", false},
	}
	for _, tc := range tests {
		if got := sameOrigin(tc.u, tc.doc); got != tc.want {
			t.Errorf("sameOrigin(%q, %q) = %v, want %v", tc.u, tc.doc, got, tc.want)
		}
	}
}

func TestSafeName(t *testing.T) {
	if got, want := safeName("TestX/sub case#01"), "TestX_sub_case_01"; got != want {
		t.Errorf("safeName = %q, want %q", got, want)
	}
}
