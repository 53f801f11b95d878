package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// The page after sign-in is only ever a clean path on this site.
func TestLoginNextIsACleanRelativePath(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	cases := []struct {
		next, want string
	}{
		{"/numbers/3", "/numbers/3"},
		{"/search?q=pedido+123&number=5", "/search?q=pedido+123&number=5"},
		{"/threads/9#m-12", "/threads/9#m-12"},
		{"", "/"},
		{"/\t/evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/%0a/evil.example", "/"},
		{"/%0D%0ALocation:%20x", "/"},
		{"\\evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/%5C%5Cevil.example", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/%2F%2Fevil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"/%252F%252Fevil.example", "/"},
		{"/.//evil.example", "/"},
		{"https://evil.example/", "/"},
		{"http:/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/login?next=//evil.example", "/"},
		{"/%00", "/"},
		{"/\x7f", "/"},
		{"/\u0085evil", "/"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.next), func(t *testing.T) {
			c := app.Anonymous()
			res, _ := c.PostForm("/login", url.Values{"email": {apptest.AgentEmail}, "password": {apptest.Password}, "next": {tc.next}}, nil)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("login = %d", res.StatusCode)
			}
			if got := res.Header.Get("Location"); got != tc.want {
				t.Fatalf("Location %q, want %q", got, tc.want)
			}
		})
	}
	// The sign-in page does not carry a bad next into its form either.
	_, body := app.Anonymous().Get("/login?next="+url.QueryEscape("/%09/evil.example"), nil)
	if strings.Contains(body, "evil.example") {
		t.Fatal("the sign-in form kept a bad next")
	}
}

// CSRF tokens come from the header or the form body, never from the URL; the sign-in form's
// token is the server's signature of its cookie, so a cookie someone else set is worthless.
func TestCSRFTokenSources(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	admin := app.Login(apptest.AdminEmail)

	// The session's token in the query string only: refused.
	res, _ := admin.Do("POST", "/admin/tokens?_csrf="+url.QueryEscape(admin.CSRF),
		strings.NewReader(url.Values{"name": {"x"}, "role": {"agent"}}.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("CSRF from the query = %d, want 403", res.StatusCode)
	}
	// In the body or the header: accepted.
	res, _ = admin.Do("POST", "/admin/tokens", strings.NewReader(url.Values{"name": {"x"}, "role": {"agent"}, "_csrf": {admin.CSRF}}.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("CSRF from the body = %d", res.StatusCode)
	}
	res, _ = admin.Do("POST", "/admin/tokens", strings.NewReader(url.Values{"name": {"y"}, "role": {"agent"}}.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-CSRF-Token": {admin.CSRF}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("CSRF from the header = %d", res.StatusCode)
	}

	login := url.Values{"email": {apptest.AgentEmail}, "password": {apptest.Password}}
	post := func(c *http.Client, path string, form url.Values) int {
		req, _ := http.NewRequest("POST", app.Server.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// Sign-in: a fresh page's cookie and token work; the token in the query does not.
	anon := app.Anonymous()
	q := url.Values{"email": login["email"], "password": login["password"]}
	if got := post(anon.HTTP, "/login?_csrf="+url.QueryEscape(anon.CSRF), q); got != http.StatusForbidden {
		t.Fatalf("sign-in CSRF from the query = %d, want 403", got)
	}
	// A cookie value chosen by an attacker, echoed as the token (plain double submit): refused.
	forged := strings.Repeat("a", 64)
	u, _ := url.Parse(app.Server.URL)
	anon.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "coex_csrf", Value: forged, Path: "/"}})
	f := url.Values{"email": login["email"], "password": login["password"], "_csrf": {forged}}
	if got := post(anon.HTTP, "/login", f); got != http.StatusForbidden {
		t.Fatalf("sign-in with a self-chosen cookie = %d, want 403", got)
	}
	// The token of another browser's cookie does not fit this cookie.
	other := app.Anonymous()
	f.Set("_csrf", other.CSRF)
	if got := post(anon.HTTP, "/login", f); got != http.StatusForbidden {
		t.Fatalf("sign-in with another cookie's token = %d, want 403", got)
	}
	if got := post(other.HTTP, "/login", f); got != http.StatusSeeOther {
		t.Fatalf("sign-in with its own token = %d, want 303", got)
	}
}

// Every answer carrying customer data tells caches not to keep it.
func TestCustomerDataIsNotCached(t *testing.T) {
	app, f := convApp(t, "sqlite")
	ctx := context.Background()
	id, _, err := app.DB.InsertInbox(ctx, "meta", []byte(`{"object":"whatsapp_business_account","entry":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	admin := app.Login(apptest.AdminEmail)
	paths := []string{"/", "/numbers/table", "/search?q=ana", fmt.Sprintf("/threads/%d", f.ana.ID),
		fmt.Sprintf("/threads/%d/export.csv", f.ana.ID), fmt.Sprintf("/threads/%d/export.json", f.ana.ID),
		"/admin/inbox", fmt.Sprintf("/admin/inbox/%d", id), "/admin/audit", "/admin/users", "/numbers/999/edit"}
	for _, p := range paths {
		for _, h := range []http.Header{nil, apptest.HX()} {
			res, _ := admin.Get(p, h)
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("GET %s (hx=%v) = %d, Cache-Control %q", p, h != nil, res.StatusCode, cc)
			}
		}
	}
	for _, p := range []string{"/api/v1/numbers", "/api/v1/threads", fmt.Sprintf("/api/v1/threads/%d/messages", f.ana.ID), "/api/v1/search?q=ana"} {
		res, body := app.API("GET", p, app.Token(models.RoleAgent), nil)
		if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("API %s = %d, Cache-Control %q: %.200s", p, res.StatusCode, res.Header.Get("Cache-Control"), body)
		}
	}
}

func setCookie(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func lastAudit(t *testing.T, db *store.DB, action string) models.AuditEntry {
	t.Helper()
	es, err := db.ListAudit(context.Background(), store.AuditFilter{Action: action, Limit: 1})
	if err != nil || len(es) == 0 {
		t.Fatalf("no %s audit entry (%v)", action, err)
	}
	return es[0]
}

// Behind a trusted proxy the client's address and scheme come from X-Forwarded-*; from
// anyone else those headers are ignored.
func TestTrustedProxies(t *testing.T) {
	fwd := http.Header{"X-Forwarded-For": {"6.6.6.6, 203.0.113.9"}, "X-Forwarded-Proto": {"https"}}
	signIn := func(t *testing.T, app *apptest.App) *http.Response {
		c := app.Anonymous()
		res, body := c.PostForm("/login", url.Values{"email": {apptest.AdminEmail}, "password": {apptest.Password}}, fwd)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login = %d: %.300s", res.StatusCode, body)
		}
		return res
	}
	t.Run("untrusted", func(t *testing.T) {
		app := apptest.New(t, "sqlite", apptest.Options{})
		res := signIn(t, app)
		if res.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS from a forged X-Forwarded-Proto")
		}
		if ck := setCookie(res, "coex_session"); ck == nil || ck.Secure {
			t.Errorf("session cookie %+v: Secure from a forged header", ck)
		}
		if e := lastAudit(t, app.DB, "login"); e.RemoteIP != "127.0.0.1" {
			t.Errorf("audit address %q, want the peer 127.0.0.1", e.RemoteIP)
		}
	})
	t.Run("trusted", func(t *testing.T) {
		app := apptest.New(t, "sqlite", apptest.Options{Env: map[string]string{"COEX_TRUSTED_PROXIES": "127.0.0.1/32, ::1"}})
		req, _ := http.NewRequest("GET", app.Server.URL+"/login", nil)
		req.Header = fwd.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if ck := setCookie(res, "coex_csrf"); ck == nil || !ck.Secure || !ck.HttpOnly {
			t.Errorf("coex_csrf cookie %+v: want Secure and HttpOnly over https", ck)
		}
		if !strings.Contains(res.Header.Get("Strict-Transport-Security"), "max-age=") {
			t.Error("no HSTS over https")
		}
		res = signIn(t, app)
		if ck := setCookie(res, "coex_session"); ck == nil || !ck.Secure {
			t.Errorf("session cookie %+v: want Secure", ck)
		}
		if e := lastAudit(t, app.DB, "login"); e.RemoteIP != "203.0.113.9" {
			t.Errorf("audit address %q, want 203.0.113.9 (the rightmost untrusted hop)", e.RemoteIP)
		}
		// Plain http through the proxy: no HSTS, no Secure.
		res, _ = app.Anonymous().Get("/login", http.Header{"X-Forwarded-Proto": {"http"}})
		if res.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS over http")
		}
	})
}
