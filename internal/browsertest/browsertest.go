// Package browsertest drives the system's headless Chromium in tests, through chromedp.
//
// A test gets a Browser with New, drives it with Run (or chromedp on Ctx), and ends with
// these checks made for it: any console error, uncaught exception, browser error (such as
// a Content-Security-Policy violation) or failed same-origin load fails the test, and a failed test leaves a full-page screenshot in
// $COEX_TEST_ARTIFACTS (default: the system's temporary directory).
//
// Chromium comes from COEX_TEST_CHROMIUM (make test sets it). Without it the test is
// skipped, unless COEX_TEST_REQUIRE_MYSQL=1 says that this is a full test run, in which case
// a missing browser fails the test. Browsers are never downloaded.
//
// Start the server under test before calling New: cleanups run in reverse order, so the
// browser then closes before the server does, and no request of a polling page fails
// because the server went away first.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Environment variables read by New.
const (
	EnvChromium  = "COEX_TEST_CHROMIUM"        // path of the Chromium binary
	EnvRequire   = "COEX_TEST_REQUIRE_MYSQL"   // "1" on a full test run: no skipping
	EnvArtifacts = "COEX_TEST_ARTIFACTS"       // where screenshots of failed tests go
	EnvTimeout   = "COEX_TEST_BROWSER_TIMEOUT" // overall time per test, e.g. "90s"
	skipMessage  = "browser test skipped: set " + EnvChromium + "=/usr/bin/chromium (make test does this)"
)

// DefaultTimeout bounds everything a test does with its browser.
const DefaultTimeout = 60 * time.Second

// startTimeout bounds the start of Chromium itself.
const startTimeout = 30 * time.Second

// Option changes how New starts the browser.
type Option func(*config)

type config struct {
	timeout       time.Duration
	width, height int
}

// WithTimeout sets the overall time the test may spend in the browser (default 60 s, or
// COEX_TEST_BROWSER_TIMEOUT).
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithWindowSize sets the size of the browser window (default 1280×900).
func WithWindowSize(width, height int) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// Browser is one headless Chromium with one tab, owned by one test.
type Browser struct {
	t       testing.TB
	timeout time.Duration

	browserCtx context.Context // lives until cleanup; no deadline
	ctx        context.Context // browserCtx with the test's deadline
	cancel     func()

	mu            sync.Mutex
	problems      []string                     // console errors, exceptions, failed loads
	requests      map[network.RequestID]string // request id → URL, for failed loads
	dialogs       []string                     // messages of alert/confirm/prompt
	acceptDialogs bool
	stopped       bool // no more recording once cleanup started
}

// New starts a headless Chromium for the test, or skips the test when no browser is
// configured (see the package documentation). Everything is torn down when the test ends.
func New(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	execPath := chromiumPath(t)

	cfg := config{timeout: DefaultTimeout, width: 1280, height: 900}
	if v := os.Getenv(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration such as 90s", EnvTimeout, v)
		}
		cfg.timeout = d
	}
	for _, o := range opts {
		o(&cfg)
	}

	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(cfg.width, cfg.height),
		// No UserDataDir: chromedp creates a new empty profile directory and removes it.
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)

	b := &Browser{
		t:             t,
		timeout:       cfg.timeout,
		requests:      map[network.RequestID]string{},
		acceptDialogs: true,
	}
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(b.onEvent))
	b.browserCtx = browserCtx
	b.cancel = func() {
		cancelBrowser()
		cancelAlloc()
	}
	t.Cleanup(b.cleanup)

	if err := startBrowser(browserCtx, startTimeout); err != nil {
		t.Fatalf("start Chromium %s: %v", execPath, err)
	}
	ctx, cancelDeadline := context.WithTimeout(browserCtx, cfg.timeout)
	b.ctx = ctx
	prev := b.cancel
	b.cancel = func() {
		cancelDeadline()
		prev()
	}
	return b
}

// chromiumPath finds the browser or decides to skip or fail.
func chromiumPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv(EnvChromium)
	if p == "" {
		if os.Getenv(EnvRequire) != "1" {
			t.Skip(skipMessage)
		}
		t.Fatalf("%s=1 (a full test run) but %s is not set: install chromium and set %s=/usr/bin/chromium, or run make test",
			EnvRequire, EnvChromium, EnvChromium)
	}
	found, err := exec.LookPath(p)
	if err != nil {
		t.Fatalf("%s=%s: %v", EnvChromium, p, err)
	}
	return found
}

// startBrowser starts Chromium and opens the tab. The first Run binds the browser's life to
// its context, so it gets no deadline of its own; the wait for it is bounded here instead.
func startBrowser(ctx context.Context, limit time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		return fmt.Errorf("no answer within %s", limit)
	}
}

// Ctx is the context for chromedp actions: the browser's tab, with the test's deadline.
func (b *Browser) Ctx() context.Context { return b.ctx }

// Run runs the actions in order and fails the test at the first error, saying which step
// failed, on which page, and what the console said.
func (b *Browser) Run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	for i, step := range steps {
		if _, err := chromedp.Run(b.ctx, step); err != nil {
			b.t.Fatalf("browser step %d of %d: %v%s", i+1, len(steps), b.explain(err), b.context())
		}
	}
}

// Get runs one action that returns a value (chromedp.Text, chromedp.Evaluate, ...) and
// fails the test on error.
func Get[T any](b *Browser, action chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, action)
	if err != nil {
		b.t.Fatalf("browser: %v%s", b.explain(err), b.context())
	}
	return v
}

// idleJS is true when htmx has no request, swap or settle under way on the page.
const idleJS = `!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`

// Idle waits until htmx has finished every request, swap and settle on the page. Content
// htmx swaps in is inert until its settle step wires it up (20 ms later, much later on a
// busy machine): a click or a key sent to it before then reaches an element htmx does not
// handle yet, and nothing happens. Put Idle before acting on anything a swap brought in.
func Idle() chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[bool](idleJS, chromedp.WithPollingInterval(20*time.Millisecond))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := poll(ctx, t)
		return chromedp.Void{}, err
	}
}

// visibleTextJS finds the first element matching a selector and reads its text in one
// step, answering null until that element is laid out. Finding the node and reading it in
// two protocol calls (as chromedp.Text does) can read a node an htmx swap has just
// detached, whose text is then "".
const visibleTextJS = `(css) => {
	const el = document.querySelector(css);
	if (!el || !(el.offsetWidth || el.offsetHeight || el.getClientRects().length)) return null;
	return {text: el.innerText};
}`

// Text is the visible text of the first element matching the CSS selector, waiting for it
// to be there.
func (b *Browser) Text(css string) string {
	b.t.Helper()
	found := Get(b, chromedp.PollFunction[struct{ Text string }](visibleTextJS, chromedp.WithPollingArgs(css)))
	return strings.TrimSpace(found.Text)
}

// ConsoleErrors returns what fails the test when it ends: console.error and failed
// console.assert calls, uncaught exceptions, the browser's own errors (such as CSP
// violations) and failed same-origin loads, seen so far.
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Dialogs returns the messages of the alert/confirm/prompt dialogs seen so far.
func (b *Browser) Dialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// AcceptDialogs sets the answer given to confirm and prompt dialogs (hx-confirm): accept
// (the default) or cancel.
func (b *Browser) AcceptDialogs(accept bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acceptDialogs = accept
}

func (b *Browser) explain(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("%v (the test's browser time of %s ran out; WithTimeout or %s change it)", err, b.timeout, EnvTimeout)
	}
	return err.Error()
}

// context describes the page for a failure message.
func (b *Browser) context() string {
	var sb strings.Builder
	ctx, cancel := context.WithTimeout(b.browserCtx, 2*time.Second)
	defer cancel()
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		fmt.Fprintf(&sb, "\n  page: %s", loc)
	}
	for _, p := range b.ConsoleErrors() {
		fmt.Fprintf(&sb, "\n  console: %s", p)
	}
	return sb.String()
}

// onEvent sees every event of the tab, in order. It runs in chromedp's read loop, so it
// only records (and hands dialogs to a goroutine).
func (b *Browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			b.problems = append(b.problems, fmt.Sprintf("console.%s: %s%s", ev.Type, argsText(ev.Args), stackPlace(ev.StackTrace)))
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "uncaught exception: "+exceptionText(ev.ExceptionDetails))
	case *log.EventEntryAdded:
		// The browser's own errors, such as Content-Security-Policy violations. Network
		// entries are left out: an HTTP error status is an answer, not a broken page, and
		// loads that really fail are caught below.
		if e := ev.Entry; e != nil && e.Level == log.EntryLevelError && e.Source != log.EntrySourceNetwork {
			b.problems = append(b.problems, fmt.Sprintf("browser %s error: %s", e.Source, e.Text))
		}
	case *network.EventRequestWillBeSent:
		if ev.Request != nil && sameOrigin(ev.Request.URL, ev.DocumentURL) {
			b.requests[ev.RequestID] = ev.Request.Method + " " + ev.Request.URL
		}
	case *network.EventLoadingFinished:
		delete(b.requests, ev.RequestID)
	case *network.EventLoadingFailed:
		req, ok := b.requests[ev.RequestID]
		delete(b.requests, ev.RequestID)
		if ok && !ev.Canceled {
			b.problems = append(b.problems, fmt.Sprintf("failed to load %s: %s", req, ev.ErrorText))
		}
	case *page.EventJavascriptDialogOpening:
		b.dialogs = append(b.dialogs, ev.Message)
		accept := b.acceptDialogs
		go func() {
			_, _ = chromedp.Call(b.browserCtx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}()
	}
}

// sameOrigin reports whether u has the scheme and host of the document that requested it.
func sameOrigin(u, document string) bool {
	a, err := url.Parse(u)
	if err != nil {
		return false
	}
	d, err := url.Parse(document)
	if err != nil {
		return false
	}
	return a.Scheme == d.Scheme && a.Host == d.Host && (a.Scheme == "http" || a.Scheme == "https")
}

// argsText renders console arguments roughly as DevTools shows them.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, objectText(a))
	}
	return strings.Join(parts, " ")
}

func objectText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if err := json.Unmarshal([]byte(o.Value), &s); err == nil {
			return s
		}
		return string(o.Value)
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Type)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		desc, _, _ := strings.Cut(d.Exception.Description, "\n")
		text = strings.TrimSpace(strings.TrimSuffix(text, ":")) + ": " + desc
	}
	if d.URL != "" {
		text += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	}
	return text
}

func stackPlace(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" (%s:%d)", f.URL, f.LineNumber+1)
}

// cleanup reports console problems, saves a screenshot of a failed test, and closes the
// browser.
func (b *Browser) cleanup() {
	b.t.Helper()
	for _, msg := range b.finish() {
		b.t.Error(msg)
	}
	if b.t.Failed() {
		if path, err := b.saveScreenshot(); err != nil {
			b.t.Logf("browser screenshot not saved: %v", err)
		} else {
			b.t.Logf("browser screenshot of the failed test: %s", path)
		}
	}
	b.close()
}

// close shuts Chromium down and waits until it has exited and its profile directory is
// removed, so no process or directory outlives the test binary.
func (b *Browser) close() {
	ctx, cancel := context.WithTimeout(b.browserCtx, 10*time.Second)
	if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
		b.t.Logf("close Chromium: %v", err)
	}
	cancel()
	b.cancel()
}

// finish stops recording and returns what fails the test: every console error, uncaught
// exception and failed same-origin load. Tests of this package call it directly.
func (b *Browser) finish() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	if len(b.problems) == 0 {
		return nil
	}
	msgs := []string{fmt.Sprintf("the page logged %d console error(s):", len(b.problems))}
	for _, p := range b.problems {
		msgs = append(msgs, "  "+p)
	}
	return []string{strings.Join(msgs, "\n")}
}

// saveScreenshot writes a full-page PNG to the artifacts directory.
func (b *Browser) saveScreenshot() (string, error) {
	if b.browserCtx == nil {
		return "", errors.New("the browser did not start")
	}
	ctx, cancel := context.WithTimeout(b.browserCtx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", fmt.Errorf("capture: %w", err)
	}
	dir := os.Getenv(EnvArtifacts)
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("artifacts directory: %w", err)
	}
	name := fmt.Sprintf("%s-%s.png", safeName(b.t.Name()), time.Now().Format("20060102-150405.000"))
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	return path, nil
}

// safeName turns a test name into a file name.
func safeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
}
