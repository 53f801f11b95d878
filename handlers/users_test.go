package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

func userID(t *testing.T, db *store.DB, email string) string {
	t.Helper()
	u, err := db.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return itoa(u.ID)
}

var tempPassword = regexp.MustCompile(`data-testid="temp-password"[\s\S]*?<code[^>]*>([^<]+)</code>`)

// Admins disable, enable, reset, sign out, re-role and delete accounts through the users
// page; every change takes effect at once and is audited.
func TestUsersLifecycleThroughTheRouter(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			ctx := context.Background()
			if _, err := app.Services.Auth.CreateUser(ctx, "ops@example.com", apptest.Password, models.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			admin, ops, agent := app.Login(apptest.AdminEmail), app.Login("ops@example.com"), app.Login(apptest.AgentEmail)
			opsID, agentID := userID(t, app.DB, "ops@example.com"), userID(t, app.DB, apptest.AgentEmail)

			// Ops creates a token; it works and its last use shows on the users page.
			res, body := ops.PostForm("/admin/tokens", url.Values{"name": {"crm"}, "role": {"agent"}}, apptest.HX())
			m := regexp.MustCompile(`coex_[A-Za-z0-9_-]+`).FindString(body)
			if res.StatusCode != http.StatusOK || m == "" {
				t.Fatalf("token create = %d", res.StatusCode)
			}
			if res, _ := app.API("GET", "/api/v1/numbers", m, nil); res.StatusCode != http.StatusOK {
				t.Fatalf("token = %d", res.StatusCode)
			}
			_, page := admin.Get("/admin/users", nil)
			tokens := page[strings.Index(page, `data-testid="tokens-table"`):]
			if row := tokens[strings.Index(tokens, ">crm<"):]; strings.Contains(row[:strings.Index(row, "</tr>")], "never") {
				t.Fatal("the token's last use is not shown")
			}

			// Agents cannot manage accounts.
			if res, _ := agent.PostForm("/admin/users/"+opsID+"/disable", nil, apptest.HX()); res.StatusCode != http.StatusForbidden {
				t.Fatalf("agent disables = %d", res.StatusCode)
			}
			// Nobody disables themselves (a toast, nothing changes).
			if res, _ := admin.PostForm("/admin/users/"+userID(t, app.DB, apptest.AdminEmail)+"/disable", nil, apptest.HX()); res.StatusCode != http.StatusConflict {
				t.Fatalf("disable self = %d", res.StatusCode)
			}

			// Disable ops: their session and token stop at once.
			res, body = admin.PostForm("/admin/users/"+opsID+"/disable", nil, apptest.HX())
			if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="user-disabled"`) || strings.Contains(body, "<html") {
				t.Fatalf("disable = %d: %.300s", res.StatusCode, body)
			}
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Fatal("users fragment cacheable")
			}
			if res, _ := ops.Get("/", nil); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Fatalf("disabled user's session = %d %s", res.StatusCode, res.Header.Get("Location"))
			}
			if res, _ := app.API("GET", "/api/v1/numbers", m, nil); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("disabled user's token = %d", res.StatusCode)
			}
			c := app.Anonymous()
			if res, _ := c.PostForm("/login", url.Values{"email": {"ops@example.com"}, "password": {apptest.Password}}, nil); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("disabled user signs in = %d", res.StatusCode)
			}
			if res, _ := admin.PostForm("/admin/users/"+opsID+"/enable", nil, apptest.HX()); res.StatusCode != http.StatusOK {
				t.Fatalf("enable = %d", res.StatusCode)
			}
			app.Login("ops@example.com")

			// Role: a bad value is a 422 with the list, a good one applies to the open session.
			if res, body := admin.PostForm("/admin/users/"+agentID+"/role", url.Values{"role": {"owner"}}, apptest.HX()); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Choose admin or agent") {
				t.Fatalf("bad role = %d", res.StatusCode)
			}
			if res, _ := agent.Get("/admin/audit", nil); res.StatusCode != http.StatusForbidden {
				t.Fatal("agent sees the audit log")
			}
			if res, _ := admin.PostForm("/admin/users/"+agentID+"/role", url.Values{"role": {"admin"}}, apptest.HX()); res.StatusCode != http.StatusOK {
				t.Fatalf("role = %d", res.StatusCode)
			}
			if res, _ := agent.Get("/admin/audit", nil); res.StatusCode != http.StatusOK {
				t.Fatalf("promoted agent's session = %d", res.StatusCode)
			}
			admin.PostForm("/admin/users/"+agentID+"/role", url.Values{"role": {"agent"}}, apptest.HX())

			// Reset: the temporary password is shown once, never logged or stored plain; the
			// user must change it before anything else.
			res, body = admin.PostForm("/admin/users/"+agentID+"/reset-password", nil, apptest.HX())
			mm := tempPassword.FindStringSubmatch(body)
			if res.StatusCode != http.StatusOK || mm == nil {
				t.Fatalf("reset = %d: %.500s", res.StatusCode, body)
			}
			temp := mm[1]
			if res, _ := agent.Get("/", nil); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("session after reset = %d", res.StatusCode)
			}
			c = app.Anonymous()
			res, _ = c.PostForm("/login", url.Values{"email": {apptest.AgentEmail}, "password": {temp}, "next": {"/search"}}, nil)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in with the temporary password = %d", res.StatusCode)
			}
			for _, p := range []string{"/", "/search", "/threads/1"} {
				if res, _ := c.Get(p, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
					t.Fatalf("GET %s before the change = %d %s", p, res.StatusCode, res.Header.Get("Location"))
				}
			}
			if res, _ := c.Get("/numbers/table", apptest.HX()); res.Header.Get("HX-Redirect") != "/account" {
				t.Fatalf("HTMX before the change: %d %q", res.StatusCode, res.Header.Get("HX-Redirect"))
			}
			res, body = c.Get("/account", nil)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, "An admin reset your password") {
				t.Fatalf("account page = %d", res.StatusCode)
			}
			c.CSRF = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)"`).FindStringSubmatch(body)[1]
			res, body = c.PostForm("/account/password", url.Values{"current": {temp}, "new": {"short"}, "confirm": {"short"}}, apptest.HX())
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Use at least 12 characters") || strings.Contains(body, "<html") {
				t.Fatalf("short new password = %d: %.300s", res.StatusCode, body)
			}
			const mine = "the agent's own password"
			res, _ = c.PostForm("/account/password", url.Values{"current": {temp}, "new": {mine}, "confirm": {mine}}, apptest.HX())
			if res.StatusCode != http.StatusOK || res.Header.Get("HX-Redirect") != "/" {
				t.Fatalf("change = %d %q", res.StatusCode, res.Header.Get("HX-Redirect"))
			}
			if res, _ := c.Get("/", nil); res.StatusCode != http.StatusOK {
				t.Fatalf("after the change = %d", res.StatusCode)
			}

			// Admin ends a user's sessions; a user signs out everywhere.
			if res, _ := admin.PostForm("/admin/users/"+agentID+"/sign-out", nil, apptest.HX()); res.StatusCode != http.StatusOK {
				t.Fatalf("sign-out = %d", res.StatusCode)
			}
			if res, _ := c.Get("/", nil); res.StatusCode != http.StatusSeeOther {
				t.Fatal("session survived the admin's sign-out")
			}
			ops2 := app.Login("ops@example.com")
			ops3 := app.Login("ops@example.com")
			if res, _ := ops2.PostForm("/account/sign-out-everywhere", nil, nil); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign out everywhere = %d", res.StatusCode)
			}
			for _, cl := range []*apptest.Client{ops2, ops3} {
				if res, _ := cl.Get("/", nil); res.StatusCode != http.StatusSeeOther {
					t.Fatal("a session survived signing out everywhere")
				}
			}

			// Delete.
			res, body = admin.SendForm("DELETE", "/admin/users/"+opsID, nil, apptest.HX())
			if res.StatusCode != http.StatusOK || strings.Contains(body, "ops@example.com</span>") {
				t.Fatalf("delete = %d", res.StatusCode)
			}
			if res, _ := admin.SendForm("DELETE", "/admin/users/"+opsID, nil, apptest.HX()); res.StatusCode != http.StatusNotFound {
				t.Fatalf("delete twice = %d", res.StatusCode)
			}

			_, audit := admin.Get("/admin/audit", nil)
			for _, action := range []string{"user.disable", "user.enable", "user.role", "user.reset_password", "password.change", "user.sign_out", "logout.everywhere", "user.delete"} {
				if !strings.Contains(audit, ">"+action+"<") {
					t.Errorf("audit lacks %s", action)
				}
			}
			if strings.Contains(app.Logs.String(), temp) || strings.Contains(app.Logs.String(), mine) || strings.Contains(audit, temp) {
				t.Fatal("a password was logged")
			}
			app.AssertNotInDatabase(temp)
			app.AssertNotInDatabase(mine)
		})
	}
}

func TestAccountPageChangesOwnPassword(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	agent, other := app.Login(apptest.AgentEmail), app.Login(apptest.AgentEmail)
	if res, body := agent.Get("/account", nil); res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="password-form"`) {
		t.Fatalf("account page = %d", res.StatusCode)
	}
	res, body := agent.PostForm("/account/password", url.Values{"current": {"not it at all"}, "new": {"a brand new password"}, "confirm": {"a brand new password"}}, apptest.HX())
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "This is not your current password") {
		t.Fatalf("wrong current = %d", res.StatusCode)
	}
	res, body = agent.PostForm("/account/password", url.Values{"current": {apptest.Password}, "new": {"a brand new password"}, "confirm": {"a brand new password"}}, apptest.HX())
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Your password is changed") {
		t.Fatalf("change = %d: %.300s", res.StatusCode, body)
	}
	if res, _ := agent.Get("/", nil); res.StatusCode != http.StatusOK {
		t.Fatal("this session ended")
	}
	if res, _ := other.Get("/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatal("the other session survived the password change")
	}
	c := app.Anonymous()
	if res, _ := c.PostForm("/login", url.Values{"email": {apptest.AgentEmail}, "password": {"a brand new password"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatal(fmt.Sprint("new password = ", res.StatusCode))
	}
}
