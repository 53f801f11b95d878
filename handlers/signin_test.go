package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"coexhistory/internal/apptest"
	"coexhistory/internal/auth"
	"coexhistory/internal/server"
)

// signInFrom posts the sign-in form as a client at ip (through the trusted proxy).
func signInFrom(t *testing.T, app *apptest.App, ip, email, password string) int {
	t.Helper()
	c := app.Anonymous()
	res, _ := c.PostForm("/login", url.Values{"email": {email}, "password": {password}}, http.Header{"X-Forwarded-For": {ip}})
	return res.StatusCode
}

// On MariaDB, look-alike addresses neither open the account nor get fresh tries, and two
// instances on one database share the counters.
func TestSignInLimitsAcrossInstances(t *testing.T) {
	opts := apptest.Options{Env: map[string]string{"COEX_TRUSTED_PROXIES": "127.0.0.1/32, ::1"}}
	one := apptest.New(t, "mysql", opts)
	two := one.Another(opts)

	// ádmin and Ädmin are other addresses: even with admin's password they are refused.
	for _, e := range []string{"ádmin@example.com", "Ädmin@example.com", "a\u0301dmin@example.com"} {
		if got := signInFrom(t, one, "198.51.100.1", e, apptest.Password); got != http.StatusUnauthorized {
			t.Errorf("%q with admin's password = %d, want 401", e, got)
		}
	}
	// Failures through look-alikes of the account, on both instances, all count against it.
	wrong := []struct {
		app   *apptest.App
		email string
	}{{one, "ａdmin@example.com"}, {two, "admin\u200b@example.com"}, {one, "ADMIN@example.com"}, {two, "Admin@Example.com"}, {one, "admin@example.com"}}
	for i, w := range wrong {
		if got := signInFrom(t, w.app, "198.51.100.7", w.email, fmt.Sprintf("wrong password %d", i)); got != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i, got)
		}
	}
	for _, app := range []*apptest.App{one, two} {
		if got := signInFrom(t, app, "198.51.100.7", apptest.AdminEmail, apptest.Password); got != http.StatusTooManyRequests {
			t.Fatalf("right password after 5 failures = %d, want 429 on both instances", got)
		}
	}
	// A restarted instance remembers.
	three := one.Another(opts)
	if got := signInFrom(t, three, "198.51.100.7", apptest.AdminEmail, apptest.Password); got != http.StatusTooManyRequests {
		t.Fatalf("after a restart = %d, want 429", got)
	}
	// The admin, from their own address, is not locked out by someone else's failures.
	if got := signInFrom(t, two, "198.51.100.8", apptest.AdminEmail, apptest.Password); got != http.StatusSeeOther {
		t.Fatalf("admin from another address = %d, want 303", got)
	}
}

// One client trying many accounts is stopped; other clients are not.
func TestSignInPerClientCap(t *testing.T) {
	opts := apptest.Options{
		Env: map[string]string{"COEX_TRUSTED_PROXIES": "127.0.0.1/32, ::1"},
		Setup: func(s *server.Services) {
			s.Auth = auth.New(s.DB, auth.Limits{PerAccountClient: 5, PerAccount: 20, PerClient: 8, Window: 15 * time.Minute}, nil, bcrypt.MinCost)
		},
	}
	app := apptest.New(t, "sqlite", opts)
	for i := 0; i < 8; i++ {
		if got := signInFrom(t, app, "203.0.113.50", fmt.Sprintf("user%d@example.com", i), "Spring2026!!!"); got != http.StatusUnauthorized {
			t.Fatalf("spray %d = %d", i, got)
		}
	}
	if got := signInFrom(t, app, "203.0.113.50", apptest.AgentEmail, apptest.Password); got != http.StatusTooManyRequests {
		t.Fatalf("9th account from the spraying client = %d, want 429", got)
	}
	if got := signInFrom(t, app, "203.0.113.51", apptest.AgentEmail, apptest.Password); got != http.StatusSeeOther {
		t.Fatalf("another client = %d, want 303", got)
	}
	// Without a trusted proxy, X-Forwarded-For is no way around the cap.
	direct := apptest.New(t, "sqlite", apptest.Options{Setup: opts.Setup})
	for i := 0; i < 8; i++ {
		signInFrom(t, direct, fmt.Sprintf("198.51.100.%d", i), fmt.Sprintf("user%d@example.com", i), "Spring2026!!!")
	}
	if got := signInFrom(t, direct, "192.0.2.1", apptest.AgentEmail, apptest.Password); got != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For escaped the cap: %d", got)
	}
	if !strings.Contains(direct.Logs.String(), "request") {
		t.Fatal("no request log")
	}
}
