package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

func numberForm(label, pnid, token string) url.Values {
	return url.Values{
		"label": {label}, "display_phone_number": {"+55 11 98765-0000"}, "phone_number_id": {pnid},
		"waba_id": {"810023456789012"}, "provider": {"meta"}, "access_token": {token}, "onboarded_at": {"2026-11-23T10:00"},
	}
}

func TestLogin(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	cases := []struct {
		name       string
		email      string
		password   string
		wantStatus int
		wantBody   string
	}{
		{"good", apptest.AdminEmail, apptest.Password, http.StatusSeeOther, ""},
		{"upper-case e-mail", strings.ToUpper(apptest.AgentEmail), apptest.Password, http.StatusSeeOther, ""},
		{"wrong password", apptest.AdminEmail, "nope-nope-nope", http.StatusUnauthorized, "E-mail or password is wrong."},
		{"unknown user", "who@example.com", apptest.Password, http.StatusUnauthorized, "E-mail or password is wrong."},
		{"empty", "", "", http.StatusUnauthorized, "E-mail or password is wrong."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := app.Anonymous()
			res, body := c.PostForm("/login", url.Values{"email": {tc.email}, "password": {tc.password}}, nil)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if !strings.Contains(body, tc.wantBody) {
				t.Fatalf("body lacks %q", tc.wantBody)
			}
			if tc.wantStatus == http.StatusSeeOther && res.Header.Get("Location") != "/" {
				t.Fatalf("redirect to %q", res.Header.Get("Location"))
			}
		})
	}
}

func TestLoginIsRateLimited(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	c := app.Anonymous()
	for i := 0; i < 5; i++ {
		c.PostForm("/login", url.Values{"email": {apptest.AdminEmail}, "password": {"wrong-password-" + string(rune('a'+i))}}, nil)
	}
	res, body := c.PostForm("/login", url.Values{"email": {apptest.AdminEmail}, "password": {apptest.Password}}, nil)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many sign-in attempts") {
		t.Fatalf("6th attempt = %d; want 429 even with the right password", res.StatusCode)
	}
}

func TestAccessRules(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	admin, agent, anon := app.Login(apptest.AdminEmail), app.Login(apptest.AgentEmail), app.Anonymous()
	cases := []struct {
		name       string
		client     *apptest.Client
		method     string
		path       string
		form       url.Values
		header     http.Header
		wantStatus int
	}{
		{"anonymous home redirects to login", anon, "GET", "/", nil, nil, http.StatusSeeOther},
		{"anonymous HTMX gets 401 + HX-Redirect", anon, "GET", "/numbers/table", nil, apptest.HX(), http.StatusUnauthorized},
		{"agent sees numbers", agent, "GET", "/", nil, nil, http.StatusOK},
		{"agent cannot add a number", agent, "POST", "/numbers", numberForm("X", "111111111", "tok"), nil, http.StatusForbidden},
		{"agent cannot see audit", agent, "GET", "/admin/audit", nil, nil, http.StatusForbidden},
		{"agent cannot create tokens", agent, "POST", "/admin/tokens", url.Values{"name": {"x"}, "role": {"admin"}}, nil, http.StatusForbidden},
		{"admin sees audit", admin, "GET", "/admin/audit", nil, nil, http.StatusOK},
		{"admin sees users", admin, "GET", "/admin/users", nil, nil, http.StatusOK},
		{"missing CSRF token", admin, "POST", "/numbers", url.Values{"_csrf": {""}, "label": {"x"}}, nil, http.StatusForbidden},
		{"wrong CSRF token", admin, "POST", "/numbers", url.Values{"_csrf": {"forged"}, "label": {"x"}}, nil, http.StatusForbidden},
		{"CSRF on login form", anon, "POST", "/login", url.Values{"_csrf": {""}, "email": {apptest.AdminEmail}, "password": {apptest.Password}}, nil, http.StatusForbidden},
		{"unknown page", admin, "GET", "/nope", nil, nil, http.StatusNotFound},
		{"bad number id", admin, "GET", "/numbers/abc/edit", nil, nil, http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var res *http.Response
			if tc.method == "GET" {
				res, _ = tc.client.Get(tc.path, tc.header)
			} else {
				res, _ = tc.client.SendForm(tc.method, tc.path, tc.form, tc.header)
			}
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, res.StatusCode, tc.wantStatus)
			}
		})
	}
	n, err := app.DB.ListNumbers(context.Background())
	if err != nil || len(n) != 0 {
		t.Fatalf("numbers after refused requests: %v %v", n, err)
	}
}

func TestFragmentVersusFullPage(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	admin := app.Login(apptest.AdminEmail)
	// A form error: HTMX gets the form fragment with 422; a plain post gets the whole page.
	bad := numberForm("", "12", "tok")
	res, body := admin.PostForm("/numbers", bad, apptest.HX())
	if res.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body, "<html") || !strings.Contains(body, `id="number-form"`) {
		t.Fatalf("HX error = %d, fragment=%v", res.StatusCode, !strings.Contains(body, "<html"))
	}
	for _, want := range []string{"Give the number a label", "Enter Meta&#39;s phone number ID", `aria-invalid="true"`} {
		if !strings.Contains(body, want) {
			t.Errorf("fragment lacks %q", want)
		}
	}
	res, body = admin.PostForm("/numbers", bad, nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "<html") {
		t.Fatalf("plain error = %d, full page=%v", res.StatusCode, strings.Contains(body, "<html"))
	}
	// The table URL serves a fragment.
	res, body = admin.Get("/numbers/table", apptest.HX())
	if res.StatusCode != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, `data-testid="numbers-table"`) {
		t.Fatalf("table fragment = %d", res.StatusCode)
	}
	// Errors: an HTMX request gets an error fragment, a plain one a page.
	_, body = admin.Get("/numbers/999/edit", apptest.HX())
	if strings.Contains(body, "<html") || !strings.Contains(body, "This number does not exist") {
		t.Fatalf("HX 404 body: %.300s", body)
	}
	_, body = admin.Get("/numbers/999/edit", nil)
	if !strings.Contains(body, "<html") || !strings.Contains(body, "This number does not exist") {
		t.Fatalf("404 page: %.300s", body)
	}
}

func TestAddEditRemoveNumberKeepsTheTokenSecret(t *testing.T) {
	const token = "EAAGsecretTOKENvalue1234567890"
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			admin := app.Login(apptest.AdminEmail)
			var seen strings.Builder
			res, body := admin.PostForm("/numbers", numberForm("Loja <Centro>", "623400011122233", token), apptest.HX())
			seen.WriteString(body)
			if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("HX-Trigger"), "numbersChanged") {
				t.Fatalf("add = %d, trigger %q: %.400s", res.StatusCode, res.Header.Get("HX-Trigger"), body)
			}
			// Duplicate phone number id: inline error.
			res, body = admin.PostForm("/numbers", numberForm("Again", "623400011122233", token), apptest.HX())
			seen.WriteString(body)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "already registered") {
				t.Fatalf("duplicate = %d", res.StatusCode)
			}
			ns, err := app.DB.ListNumbers(context.Background())
			if err != nil || len(ns) != 1 {
				t.Fatalf("numbers: %v %v", ns, err)
			}
			n := ns[0]
			if n.DisplayPhoneNumber != "5511987650000" || n.OnboardedAt == nil || n.OnboardedAt.Hour() != 10 {
				t.Fatalf("stored %+v", n)
			}
			for _, path := range []string{"/", "/numbers/table", "/numbers/" + itoa(n.ID) + "/edit", "/admin/audit"} {
				res, body := admin.Get(path, nil)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET %s = %d", path, res.StatusCode)
				}
				seen.WriteString(body)
			}
			if !strings.Contains(seen.String(), "Loja &lt;Centro&gt;") {
				t.Fatal("label not shown escaped")
			}
			// Edit without a token keeps it; the token opens with the key.
			form := numberForm("Loja Sul", "623400011122233", "")
			res, _ = admin.PostForm("/numbers/"+itoa(n.ID), form, apptest.HX())
			if res.StatusCode != http.StatusOK || res.Header.Get("HX-Redirect") != "/?saved=1" {
				t.Fatalf("edit = %d %q", res.StatusCode, res.Header.Get("HX-Redirect"))
			}
			got, err := app.Services.Registry.AccessToken(context.Background(), "623400011122233")
			if err != nil || got != token {
				t.Fatalf("stored token = %q, %v", got, err)
			}
			// JSON API never returns the token.
			_, apiBody := app.API("GET", "/api/v1/numbers", app.Token(models.RoleAgent), nil)
			seen.WriteString(apiBody)
			var list struct{ Data []map[string]any }
			if err := json.Unmarshal([]byte(apiBody), &list); err != nil || len(list.Data) != 1 || list.Data[0]["label"] != "Loja Sul" {
				t.Fatalf("api list: %s", apiBody)
			}
			if strings.Contains(seen.String(), token) {
				t.Fatal("the access token was rendered")
			}
			if strings.Contains(app.Logs.String(), token) {
				t.Fatal("the access token was logged")
			}
			app.AssertNotInDatabase(token)
			// Remove.
			res, _ = admin.SendForm("DELETE", "/numbers/"+itoa(n.ID), nil, apptest.HX())
			if res.StatusCode != http.StatusOK {
				t.Fatalf("delete = %d", res.StatusCode)
			}
			_, audit := admin.Get("/admin/audit", nil)
			for _, action := range []string{"number.create", "number.update", "number.delete", "login"} {
				if !strings.Contains(audit, ">"+action+"<") {
					t.Errorf("audit lacks %s", action)
				}
			}
		})
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestAPITokens(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	agent, admin := app.Token(models.RoleAgent), app.Token(models.RoleAdmin)
	good := `{"label":"API number","display_phone_number":"5511900000000","phone_number_id":"700000000000001","waba_id":"810023456789012","provider":"positus","provider_number_id":"3f2b8c1e-4d5a-4e6f-9a7b-1c2d3e4f5a6b","access_token":"EAAGapiSecret987654"}`
	cases := []struct {
		name       string
		method     string
		token      string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"no token", "GET", "", "", http.StatusUnauthorized, "Send an API token"},
		{"wrong token", "GET", "coex_nope", "", http.StatusUnauthorized, "not valid"},
		{"agent lists", "GET", agent, "", http.StatusOK, `"data":[]`},
		{"agent cannot add", "POST", agent, good, http.StatusForbidden, "Only admins"},
		{"admin adds", "POST", admin, good, http.StatusCreated, `"provider_number_id":"3f2b8c1e-4d5a-4e6f-9a7b-1c2d3e4f5a6b"`},
		{"admin duplicate", "POST", admin, good, http.StatusUnprocessableEntity, "already registered"},
		{"admin invalid", "POST", admin, `{"label":""}`, http.StatusUnprocessableEntity, `"fields"`},
		{"admin bad json", "POST", admin, `{`, http.StatusUnprocessableEntity, "JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			res, got := app.API(tc.method, "/api/v1/numbers", tc.token, body)
			if res.StatusCode != tc.wantStatus || !strings.Contains(got, tc.wantBody) {
				t.Fatalf("%s = %d %s; want %d with %q", tc.method, res.StatusCode, got, tc.wantStatus, tc.wantBody)
			}
			if strings.Contains(got, "EAAGapiSecret987654") {
				t.Fatal("the access token came back")
			}
		})
	}
	// Session cookies do not open the API, and tokens do not open the pages.
	res, _ := app.Login(apptest.AdminEmail).Get("/api/v1/numbers", nil)
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API with a session cookie = %d", res.StatusCode)
	}
}

func TestHealthAndHeaders(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	c := app.Anonymous()
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`} {
		res, body := c.Get(path, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("%s = %d %s", path, res.StatusCode, body)
		}
	}
	res, body := c.Get("/login", nil)
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
	if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("missing security headers")
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " on") && strings.Contains(body, "onclick=") {
		t.Fatal("inline script in the page")
	}
	if res.Header.Get("X-Request-Id") == "" {
		t.Fatal("no request id")
	}
	// Static files are fingerprinted and cacheable.
	m := regexp.MustCompile(`href="(/static/css/app\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("stylesheet URL not fingerprinted")
	}
	res, _ = c.Get(m[1], nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("static = %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	// Readiness fails when the schema is behind.
	if _, err := app.DB.SQL().Exec("DELETE FROM goose_db_version WHERE version_id > 0"); err != nil {
		t.Fatal(err)
	}
	res, body = c.Get("/readyz", nil)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "schema outdated") {
		t.Fatalf("readyz on an old schema = %d %s", res.StatusCode, body)
	}
}
