package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/auth"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

func TestUserCommands(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			url := storetest.URL(t, dialect)
			getenv := apptest.Env(url, nil)
			if _, err := runCmd(t, getenv, "", "migrate", "up"); err != nil {
				t.Fatal(err)
			}
			for _, u := range [][]string{{"lead@example.com", "admin"}, {"ana@example.com", "agent"}} {
				if _, err := runCmd(t, getenv, "a-very-long-password\n", "user", "create", "--email", u[0], "--role", u[1]); err != nil {
					t.Fatal(err)
				}
			}
			for _, sub := range []string{"create", "list", "disable", "enable", "delete", "role", "reset-password", "sign-out"} {
				if out, err := runCmd(t, getenv, "", "user", sub, "--help"); err != nil || !strings.Contains(out, "Usage: coexhistory user "+sub) {
					t.Errorf("user %s --help: %v %q", sub, err, out)
				}
			}
			if _, err := runCmd(t, getenv, "", "user", "disable"); err == nil || !strings.Contains(err.Error(), "--email") {
				t.Errorf("disable without --email: %v", err)
			}
			if _, err := runCmd(t, getenv, "", "user", "frob"); err == nil {
				t.Error("unknown user command accepted")
			}

			db, err := store.Open(context.Background(), url, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			svc := auth.New(db, auth.DefaultLimits, nil, 4)
			cookie, _, err := svc.Login(ctx, "ana@example.com", "a-very-long-password", "10.0.0.1")
			if err != nil {
				t.Fatal(err)
			}

			steps := []struct {
				args []string
				want string
			}{
				{[]string{"disable", "--email", "ANA@example.com"}, "disabled ana@example.com"},
				{[]string{"list"}, "disabled"},
				{[]string{"enable", "--email", "ana@example.com"}, "enabled ana@example.com"},
				{[]string{"role", "--email", "ana@example.com", "--role", "admin"}, "ana@example.com is now admin"},
				{[]string{"role", "--email", "ana@example.com", "--role", "agent"}, "ana@example.com is now agent"},
				{[]string{"sign-out", "--email", "ana@example.com"}, "ended 0 sessions"},
				{[]string{"reset-password", "--email", "ana@example.com"}, "temporary password for ana@example.com"},
				{[]string{"list"}, "must change password"},
			}
			var temp string
			for _, s := range steps {
				out, err := runCmd(t, getenv, "", append([]string{"user"}, s.args...)...)
				if err != nil || !strings.Contains(out, s.want) {
					t.Fatalf("user %v: %v %q", s.args, err, out)
				}
				if s.args[0] == "reset-password" {
					lines := strings.Split(strings.TrimSpace(out), "\n")
					temp = lines[len(lines)-1]
				}
				if s.args[0] == "disable" {
					if _, err := svc.Session(ctx, cookie); !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("session after user disable: %v", err)
					}
				}
			}
			if _, p, err := svc.Login(ctx, "ana@example.com", temp, "10.0.0.1"); err != nil || !p.MustChangePassword {
				t.Fatalf("temporary password: %+v %v", p, err)
			}
			// The last admin stays.
			for _, args := range [][]string{{"disable", "--email", "lead@example.com"}, {"delete", "--email", "lead@example.com"}, {"role", "--email", "lead@example.com", "--role", "agent"}} {
				if _, err := runCmd(t, getenv, "", append([]string{"user"}, args...)...); err == nil || !strings.Contains(err.Error(), "last active admin") {
					t.Errorf("user %v: %v", args, err)
				}
			}
			if out, err := runCmd(t, getenv, "", "user", "delete", "--email", "ana@example.com"); err != nil || !strings.Contains(out, "deleted ana@example.com") {
				t.Fatalf("delete: %v %q", err, out)
			}
			if _, err := runCmd(t, getenv, "", "user", "delete", "--email", "ana@example.com"); err == nil || !strings.Contains(err.Error(), "does not exist") {
				t.Fatalf("delete twice: %v", err)
			}
			out, err := runCmd(t, getenv, "", "user", "list")
			if err != nil || strings.Contains(out, "ana@") || !strings.Contains(out, "lead@example.com  admin") {
				t.Fatalf("list: %v %q", err, out)
			}
			es, _ := db.ListAudit(ctx, store.AuditFilter{Limit: 100})
			var actions []string
			for _, e := range es {
				if e.Actor == "cli" {
					actions = append(actions, e.Action)
				}
			}
			got := strings.Join(actions, ",")
			for _, want := range []string{"user.create", "user.disable", "user.enable", "user.role", "user.sign_out", "user.reset_password", "user.delete"} {
				if !strings.Contains(got, want) {
					t.Errorf("audit lacks cli %s: %s", want, got)
				}
			}
		})
	}
}
