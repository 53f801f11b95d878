package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/models"
)

// TestUnknownURLsAre404: an unknown address is 404 for agents and admins alike (and for
// API tokens of both roles), never "Only admins can do this."
func TestUnknownURLsAre404(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	for _, email := range []string{apptest.AgentEmail, apptest.AdminEmail} {
		c := app.Login(email)
		for _, path := range []string{"/nope", "/admin/nope", "/numbers/1/nope", "/threads/x/y/z"} {
			if res, body := c.Get(path, nil); res.StatusCode != http.StatusNotFound || strings.Contains(body, "Only admins") {
				t.Errorf("%s GET %s = %d", email, path, res.StatusCode)
			}
		}
		if res, _ := c.Get("/nope", apptest.HX()); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s HTMX GET /nope = %d", email, res.StatusCode)
		}
	}
	// Admin pages still refuse agents.
	if res, _ := app.Login(apptest.AgentEmail).Get("/admin/users", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("agent GET /admin/users = %d", res.StatusCode)
	}
	for _, role := range []string{models.RoleAgent, models.RoleAdmin} {
		if res, _ := app.API(http.MethodGet, "/api/v1/nope", app.Token(role), nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s token GET /api/v1/nope = %d", role, res.StatusCode)
		}
	}
	if res, _ := app.API(http.MethodPost, "/api/v1/numbers", app.Token(models.RoleAgent), []byte(`{}`)); res.StatusCode != http.StatusForbidden {
		t.Errorf("agent token POST /api/v1/numbers = %d", res.StatusCode)
	}
	// The favicon is there, for anyone.
	res, body := app.Anonymous().Get("/favicon.ico", nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(body, "<svg") {
		t.Errorf("favicon = %d", res.StatusCode)
	}
}

// TestFlashIsASCII: a toast's text travels in HX-Trigger as ASCII JSON escapes that decode
// to exactly the text.
func TestFlashIsASCII(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	admin := app.Login(apptest.AdminEmail)
	res, body := admin.PostForm("/numbers", url.Values{"label": {"Loja São Paulo 🌴"}, "display_phone_number": {"+55 11 98765-0000"},
		"phone_number_id": {"623400011122233"}, "waba_id": {"810023456789012"}, "provider": {"meta"}, "access_token": {"EAAGflashTOKEN0123456789"}}, apptest.HX())
	if res.StatusCode >= 300 {
		t.Fatalf("add number = %d: %.300s", res.StatusCode, body)
	}
	h := res.Header.Get("HX-Trigger")
	for _, r := range h {
		if r >= 0x80 {
			t.Fatalf("HX-Trigger has a non-ASCII character: %q", h)
		}
	}
	var got struct {
		Flash struct{ Message string } `json:"flash"`
	}
	if err := json.Unmarshal([]byte(h), &got); err != nil || got.Flash.Message != "Number Loja São Paulo 🌴 added." {
		t.Fatalf("HX-Trigger %q decodes to %q (%v)", h, got.Flash.Message, err)
	}
}

// TestSessionExpiryReturnsToThePage: an HTMX request after the session ended sends the
// browser to sign in with the page it was on (not the fragment) and a notice.
func TestSessionExpiryReturnsToThePage(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	agent := app.Login(apptest.AgentEmail)
	if _, err := app.DB.SQL().Exec(`DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
	h := apptest.HX()
	h.Set("HX-Current-URL", app.Server.URL+"/search?q=bolo")
	res, _ := agent.Get("/numbers/1/threads?contact=ana", h)
	want := "/login?next=" + url.QueryEscape("/search?q=bolo") + "&expired=1"
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("HX-Redirect") != want {
		t.Fatalf("HTMX after expiry = %d, HX-Redirect %q, want %q", res.StatusCode, res.Header.Get("HX-Redirect"), want)
	}
	_, body := app.Anonymous().Get(want, nil)
	if !strings.Contains(body, "Your session expired") || !strings.Contains(body, `name="next" value="/search?q=bolo"`) {
		t.Fatalf("login page after expiry:\n%.2000s", body)
	}
	// Never signed in: no notice.
	if _, body := app.Anonymous().Get("/login?next=%2F", nil); strings.Contains(body, "session expired") {
		t.Fatal("notice without a session")
	}
}

// TestSearchResultsStatusOnlyOnOutbound: delivery states are shown on the business's own
// messages only.
func TestSearchResultsStatusOnlyOnOutbound(t *testing.T) {
	app, _ := convApp(t, "sqlite")
	agent := app.Login(apptest.AgentEmail)
	_, body := agent.Get("/search?q=bolo", nil)
	d := convDoc(t, body)
	results := d.Find(`[data-testid=search-result]`)
	if results.Length() < 2 {
		t.Fatalf("%d results for bolo", results.Length())
	}
	for _, w := range []string{"wamid.ana1", "wamid.other1"} { // inbound
		if n := d.Find(`[data-wamid="` + w + `"] [data-testid=badge-status]`).Length(); n != 0 {
			t.Errorf("inbound %s carries a status chip", w)
		}
	}
	_, body = agent.Get("/search?q=pedido", nil)
	if n := convDoc(t, body).Find(`[data-wamid="wamid.bruno2"] [data-testid=badge-status]`).Length(); n != 1 {
		t.Errorf("outbound wamid.bruno2 has %d status chips", n)
	}
}
