package handlers_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/apptest"
)

// A thread's live URL asks for messages after its last one and for changes from its first
// one since (a little before) the page was made; a poll with a bad since is refused, and an
// old URL without from or since still gets the new messages only.
func TestThreadLiveURLAndPolls(t *testing.T) {
	app, f := convApp(t, "sqlite")
	agent := app.Login(apptest.AgentEmail)
	_, page := agent.Get("/threads/"+itoa(f.ana.ID), nil)
	d := convDoc(t, page)
	live, ok := d.Find(`[data-testid="chat-end"]`).Attr("data-live-url")
	if !ok || live == "" {
		t.Fatalf("no live URL:\n%.2000s", page)
	}
	u, err := url.Parse(live)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	first := d.Find(`[data-testid="bubble"]`).First()
	firstWAMID, _ := first.Attr("data-wamid")
	if from := q.Get("from"); from == "" || !strings.HasSuffix(decodeCursorForTest(t, from), "."+firstWAMID) {
		t.Fatalf("from = %q, want the cursor of the first message on the page (%s)", q.Get("from"), firstWAMID)
	}
	since, err := strconv.ParseInt(q.Get("since"), 10, 64)
	if err != nil || time.Since(time.UnixMilli(since)) < 2*time.Second || time.Since(time.UnixMilli(since)) > time.Minute {
		t.Fatalf("since = %q, want a few seconds before now", q.Get("since"))
	}
	q.Set("since", "soon")
	if res, _ := agent.Get(u.Path+"?"+q.Encode(), apptest.HX()); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a bad since = %d, want 422", res.StatusCode)
	}
	q.Del("since")
	q.Del("from")
	if res, body := agent.Get(u.Path+"?"+q.Encode(), apptest.HX()); res.StatusCode != http.StatusNoContent {
		t.Fatalf("an old live URL with nothing new = %d, want 204: %.500s", res.StatusCode, body)
	}
}

func decodeCursorForTest(t *testing.T, c string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		t.Fatalf("cursor %q: %v", c, err)
	}
	return string(b)
}
