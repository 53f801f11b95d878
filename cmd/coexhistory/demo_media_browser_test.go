package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coexhistory/internal/browsertest"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// TestDemoMediaInBrowser: after the demo's sync the simulator's real files are downloaded,
// and a thread shows a decoded image and a voice note the browser can play, with no
// console errors.
func TestDemoMediaInBrowser(t *testing.T) {
	dir := t.TempDir()
	base, email, password := startDemo(t, dir, "--contacts", "12", "--messages", "600", "--pace", "0")
	b := browsertest.New(t, browsertest.WithTimeout(60*time.Second))
	b.Run(
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), email),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="number-row"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="number-row"]:first-child [data-testid="sync-button"]:not([disabled])`)),
	)

	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "coexhistory.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pnid := demoNumbers[0].PhoneNumberID
	// Wait until the follow-ups' media are downloaded.
	deadline := time.Now().Add(45 * time.Second)
	for {
		st, err := db.MediaStats(context.Background(), pnid)
		if err != nil {
			t.Fatal(err)
		}
		busy := st.ByState[models.MediaPending] + st.ByState[models.MediaProcessing]
		if st.Stored > 0 && busy == 0 {
			if st.ByState[models.MediaFailed] > 0 || st.ByState[models.MediaExpired] > 0 {
				jobs, _ := db.ListMediaJobs(context.Background(), pnid, 500)
				t.Fatalf("media not all stored: %+v\n%+v", st, jobs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("media not downloaded in time: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A thread with a stored image and a stored voice note, opened at the image.
	var threadID uint64
	var imageWAMID, audioWAMID string
	q := `SELECT m.thread_id, m.wamid, j.kind FROM messages m JOIN media_jobs j ON j.phone_number_id = m.phone_number_id AND j.media_id = m.media_id
		WHERE m.phone_number_id = ? AND j.state = 'done' AND j.kind IN ('image', 'audio') ORDER BY m.thread_id, m.ts`
	rows, err := db.SQL().QueryContext(context.Background(), q, pnid)
	if err != nil {
		t.Fatal(err)
	}
	byThread := map[uint64]map[string]string{}
	for rows.Next() {
		var id uint64
		var wamid, kind string
		if err := rows.Scan(&id, &wamid, &kind); err != nil {
			t.Fatal(err)
		}
		if byThread[id] == nil {
			byThread[id] = map[string]string{}
		}
		if byThread[id][kind] == "" {
			byThread[id][kind] = wamid
		}
	}
	_ = rows.Close()
	for id, k := range byThread {
		if k["image"] != "" && k["audio"] != "" {
			threadID, imageWAMID, audioWAMID = id, k["image"], k["audio"]
			break
		}
	}
	if threadID == 0 {
		t.Fatalf("no thread with both an image and a voice note: %v", byThread)
	}

	thread := base + "/threads/" + strconv.FormatUint(threadID, 10)
	img := `[data-wamid="` + imageWAMID + `"] img[data-testid="media-image"]`
	b.Run(
		chromedp.Navigate(thread+"?at="+url.QueryEscape(imageWAMID)),
		chromedp.WaitVisible(chromedp.CSS(img)),
	)
	// The image is decoded (lazy images load once in view).
	b.Run(chromedp.ScrollIntoView(chromedp.CSS(img)))
	browsertest.Get(b, chromedp.Poll[bool](`(() => { const i = document.querySelector(`+strconv.Quote(img)+`); return i && i.complete && i.naturalWidth > 0; })()`,
		chromedp.WithPollingInterval(100*time.Millisecond)))

	audio := `[data-wamid="` + audioWAMID + `"] audio[data-testid="media-audio"]`
	b.Run(
		chromedp.Navigate(thread+"?at="+url.QueryEscape(audioWAMID)),
		chromedp.WaitVisible(chromedp.CSS(audio)),
	)
	if can := browsertest.Get(b, chromedp.Evaluate[string](`(() => { const a = document.querySelector(`+strconv.Quote(audio)+`);
		return a.canPlayType(a.querySelector('source').type); })()`)); can == "" {
		t.Fatal("the browser cannot play the voice note's type")
	}
	// The browser reads the file's metadata: it is a real, playable audio file.
	browsertest.Get(b, chromedp.Poll[bool](`(() => { const a = document.querySelector(`+strconv.Quote(audio)+`);
		return a && a.readyState >= 1 && a.duration > 0; })()`, chromedp.WithPollingInterval(100*time.Millisecond)))
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors: %q", errs)
	}
}
