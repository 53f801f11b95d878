package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/apptest"
	"coexhistory/internal/browsertest"
	"coexhistory/internal/store"
	"coexhistory/models"
)

var (
	runningAt   = regexp.MustCompile(`coexhistory is running at (http://\S+)`)
	demoSignIn  = regexp.MustCompile(`sign in:\s+(\S+)`)
	demoPasswd  = regexp.MustCompile(`password:\s+(\S+)`)
	demoDataDir = regexp.MustCompile(`data:\s+(\S+)`)
)

// startDemo runs `coexhistory demo` in the background until the test ends and returns its
// URL, admin e-mail and password as printed.
func startDemo(t *testing.T, dir string, extra ...string) (url, email, password string) {
	t.Helper()
	out := &apptest.SyncBuffer{}
	errOut := &apptest.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args := append([]string{"demo", "--data", dir, "--addr", "127.0.0.1:0"}, extra...)
	go func() { done <- run(ctx, args, func(string) string { return "" }, strings.NewReader(""), out, errOut) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo ended with: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("demo did not stop within 20 s")
		}
		if t.Failed() {
			t.Logf("demo log:\n%s", errOut.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := runningAt.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo stopped: %v\n%s\n%s", err, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start within 15 s:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s := out.String()
	e, p := demoSignIn.FindStringSubmatch(s), demoPasswd.FindStringSubmatch(s)
	if e == nil || p == nil {
		t.Fatalf("no sign-in in the demo's output:\n%s", s)
	}
	if d := demoDataDir.FindStringSubmatch(s); d == nil || !strings.HasSuffix(d[1], filepath.Base(dir)) {
		t.Fatalf("data directory not printed:\n%s", s)
	}
	return url, e[1], p[1]
}

// TestDemoSyncInBrowser is the whole program: `coexhistory demo` with its simulator, a real
// browser signs in, presses Sync on the Meta demo number, and watches the history arrive.
func TestDemoSyncInBrowser(t *testing.T) {
	started := time.Now()
	dir := t.TempDir()
	url, email, password := startDemo(t, dir, "--contacts", "25", "--messages", "1200", "--pace", "0")
	b := browsertest.New(t, browsertest.WithTimeout(40*time.Second))

	b.Run(
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), email),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="number-row"]`)),
	)
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="number-row"]').length`)); n != 2 {
		t.Fatalf("%d demo numbers listed, want 2", n)
	}
	// The Meta number is listed first (by label); press its Sync and accept the confirmation.
	row := `[data-testid="number-row"]:first-child`
	if got := b.Text(row + ` [data-testid="number-label"]`); !strings.Contains(got, "Meta") {
		t.Fatalf("first row is %q", got)
	}
	if got := b.Text(row + ` [data-testid="number-threads"]`); got != "0" {
		t.Fatalf("threads before the sync: %q", got)
	}
	clicked := time.Now()
	b.Run(chromedp.Click(chromedp.CSS(row + ` [data-testid="sync-button"]:not([disabled])`)))

	// The table refreshes by itself when the sync finishes: the badge completes and the
	// thread count appears without a reload.
	browsertest.Get(b, chromedp.Poll[bool](`(() => {
		const r = document.querySelector('[data-testid="number-row"]:first-child');
		return r && r.querySelector('[data-testid="sync-badge"]').dataset.state === "complete" &&
			Number(r.querySelector('[data-testid="number-threads"]').textContent) > 0;
	})()`, chromedp.WithPollingInterval(100*time.Millisecond)))
	synced := time.Since(clicked)
	threads, _ := strconv.Atoi(b.Text(row + ` [data-testid="number-threads"]`))
	if dialogs := b.Dialogs(); len(dialogs) != 1 || !strings.Contains(dialogs[0], "only once") {
		t.Fatalf("confirmation dialogs: %q", dialogs)
	}
	if d := b.Text(row + ` [data-testid="sync-button"]`); d != "Sync" {
		t.Fatalf("button text %q", d)
	}
	if disabled := browsertest.Get(b, chromedp.Evaluate[bool](`document.querySelector('[data-testid="number-row"]:first-child [data-testid="sync-button"]').disabled`)); !disabled {
		t.Fatal("Sync still enabled after the sync ran")
	}

	// The number's page: progress bar at 100 %, phases, counts, request id, no polling.
	// Clicked once htmx has finished swapping the refreshed table in: a click whose press and
	// release straddle a swap reaches no link.
	b.Run(
		browsertest.Idle(),
		chromedp.Click(chromedp.CSS(row+` [data-testid="number-label"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sync-panel"]`)),
	)
	if v := browsertest.Get(b, chromedp.Evaluate[float64](`document.querySelector('[data-testid="sync-progress"]').value`)); v != 100 {
		t.Fatalf("progress bar at %v", v)
	}
	if st := b.Text(`[data-testid="sync-state"]`); st != "Complete" {
		t.Fatalf("state %q", st)
	}
	if got := b.Text(`[data-testid="sync-threads"]`); got != strconv.Itoa(threads) {
		t.Fatalf("panel threads %q, table %d", got, threads)
	}
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "coexhistory.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, want := b.Text(`[data-testid="sync-messages"]`), listedMessages(t, db, demoNumbers[0].PhoneNumberID); got != want {
		t.Fatalf("messages in conversations %q, want %s", got, want)
	}
	if got := b.Text(`[data-testid="sync-contacts"]`); got != "25" {
		t.Fatalf("contacts %q, want 25", got)
	}
	if id := b.Text(`[data-testid="sync-request-id"]`); id == "" {
		t.Fatal("no request id shown")
	}
	if polls := browsertest.Get(b, chromedp.Evaluate[bool](`document.querySelector('[data-testid="sync-panel"]').hasAttribute("hx-trigger")`)); polls {
		t.Fatal("a complete panel still polls")
	}
	// The page lists the number's conversations.
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="thread-row"]').length`)); n == 0 || n > threads {
		t.Fatalf("%d conversations listed of %d", n, threads)
	}

	// The database agrees, and the audit log has the request and its answers.
	// The ledger opens and lists every chunk (1,200 messages: at least 6 chunks of 200).
	chunks, err := db.ListChunks(context.Background(), demoNumbers[0].PhoneNumberID, 1000)
	if err != nil || len(chunks) < 6 {
		t.Fatalf("%d chunks stored (%v)", len(chunks), err)
	}
	b.Run(chromedp.Click(chromedp.CSS(`[data-testid="chunk-ledger-details"] summary`)))
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="chunk-row"]').length`)); n != len(chunks) {
		t.Fatalf("%d ledger rows, want %d", n, len(chunks))
	}
	r, err := db.SyncRun(context.Background(), demoNumbers[0].PhoneNumberID)
	if err != nil || r.State != models.SyncComplete || r.Progress != 100 || r.HistoryRequestID == "" {
		t.Fatalf("run = %+v (%v)", r, err)
	}
	entries, err := db.ListAudit(context.Background(), store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	var lastState string
	for _, e := range entries { // newest first
		actions[e.Action]++
		if e.Action == "sync.state" && lastState == "" {
			lastState = e.Detail
		}
	}
	// The request moves the run to requested; webhooks then to receiving (unless the
	// progress-100 chunk is applied first) and complete.
	if actions["sync.request"] != 2 || actions["sync.response"] != 2 || actions["sync.state"] < 2 || actions["sync.state"] > 3 ||
		!strings.Contains(lastState, "→ complete") {
		t.Fatalf("audit actions %v, last state change %q", actions, lastState)
	}
	// The Positus number, from its own page: the panel follows the sync to the end, then
	// the stored-history region refreshes by itself and lists the conversations.
	b.Run(
		chromedp.Navigate(url+"/"),
		chromedp.Click(chromedp.CSS(`[data-testid="number-row"]:nth-child(2) [data-testid="number-label"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="threads-empty"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="sync-panel"] [data-testid="sync-button"]:not([disabled])`)),
	)
	browsertest.Get(b, chromedp.Poll[bool](`document.querySelector('[data-testid="sync-panel"]').dataset.state === "complete" &&
		document.querySelector('[data-testid="sync-progress"]').value === 100 &&
		document.querySelectorAll('[data-testid="thread-row"]').length > 0`, chromedp.WithPollingInterval(100*time.Millisecond)))
	if got, want := b.Text(`[data-testid="sync-messages"]`), listedMessages(t, db, demoNumbers[1].PhoneNumberID); got != want {
		t.Fatalf("Positus number: messages in conversations %q, want %s", got, want)
	}
	if r, err := db.SyncRun(context.Background(), demoNumbers[1].PhoneNumberID); err != nil || r.State != models.SyncComplete {
		t.Fatalf("Positus run = %+v (%v)", r, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, demoSecretsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("demo secrets file: %v %v", fi, err)
	}
	t.Logf("sync of 1,200 messages: %s from the click to the refreshed table; whole test %s", synced.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// TestDemoRestartKeepsSecretsAndResetsPassword starts the demo twice on one directory:
// the secrets are reused (the sealed tokens still open), the admin gets a new password.
func TestDemoRestartKeepsSecretsAndResetsPassword(t *testing.T) {
	dir := t.TempDir()
	first := func() (string, string) {
		ctx, cancel := context.WithCancel(context.Background())
		out := &apptest.SyncBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"demo", "--data", dir, "--addr", "127.0.0.1:0", "--pace", "0"}, func(string) string { return "" }, strings.NewReader(""), out, io.Discard)
		}()
		for i := 0; i < 500 && !runningAt.MatchString(out.String()); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("demo: %v", err)
		}
		secrets, err := os.ReadFile(filepath.Join(dir, demoSecretsFile))
		if err != nil {
			t.Fatal(err)
		}
		m := demoPasswd.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no password printed:\n%s", out.String())
		}
		return string(secrets), m[1]
	}
	s1, p1 := first()
	s2, p2 := first()
	if s1 != s2 {
		t.Fatal("the demo secrets changed on restart")
	}
	if p1 == p2 || len(p2) < 12 {
		t.Fatalf("passwords %q then %q: want a new one of 12+ characters", p1, p2)
	}
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "coexhistory.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ns, err := db.ListNumbers(context.Background())
	if err != nil || len(ns) != 2 {
		t.Fatalf("numbers after two starts: %d (%v)", len(ns), err)
	}
	for _, n := range ns {
		if n.OnboardedAt == nil || time.Since(*n.OnboardedAt) > time.Minute {
			t.Fatalf("%s not onboarded now: %v", n.Label, n.OnboardedAt)
		}
		if n.Provider == models.ProviderPositus && n.ProviderNumberID == "" {
			t.Fatal("the Positus number has no Positus id")
		}
	}
	if _, _, err := authService(db).Login(context.Background(), demoAdminEmail, p2, "127.0.0.1"); err != nil {
		t.Fatalf("sign in with the new password: %v", err)
	}
	if _, _, err := authService(db).Login(context.Background(), demoAdminEmail, p1, "127.0.0.1"); err == nil {
		t.Fatal("the old password still works")
	}
}

// listedMessages is how many items a demo number's conversations list, from its stored
// messages: all 1,200 but the reactions, each of which reacts to a stored message and is
// shown on it.
func listedMessages(t *testing.T, db *store.DB, pnid string) string {
	t.Helper()
	var rows, reactions, orphans int
	err := db.SQL().QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN type = 'reaction' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN type = 'reaction' AND NOT EXISTS (SELECT 1 FROM messages target
			WHERE target.phone_number_id = m.phone_number_id AND target.wamid = m.reaction_to) THEN 1 ELSE 0 END), 0)
		FROM messages m WHERE phone_number_id = ?`, pnid).Scan(&rows, &reactions, &orphans)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 1200 || reactions == 0 || orphans != 0 {
		t.Fatalf("number %s stores %d messages, %d reactions (%d to messages not stored); want 1200, some, 0", pnid, rows, reactions, orphans)
	}
	return strconv.Itoa(rows - reactions)
}
