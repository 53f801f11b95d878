package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/apperr"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

func auditActions(t *testing.T, db *store.DB) string {
	t.Helper()
	es, err := db.ListAudit(context.Background(), store.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Action + "|" + e.Actor + "|" + e.Target + "|" + e.Detail + "\n")
	}
	return b.String()
}

func TestStaffLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{t: time.Now()}
		svc := newSvc(db, c, Limits{})
		lead, _ := svc.CreateUser(ctx, "lead@x.io", pw, models.RoleAdmin)
		bob, _ := svc.CreateUser(ctx, "bob@x.io", pw, models.RoleAdmin)
		_, leadP, err := svc.Login(ctx, "lead@x.io", pw, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		admin := ActorOf(leadP, "10.0.0.1")

		// Bob signs in twice and makes a token.
		bobCookie1, bobP, _ := svc.Login(ctx, "bob@x.io", pw, "10.0.0.2")
		bobCookie2, _, _ := svc.Login(ctx, "bob@x.io", pw, "10.0.0.3")
		tokenValue, _, err := svc.CreateTokenFor(ctx, bobP, "crm", models.RoleAgent)
		if err != nil {
			t.Fatal(err)
		}
		cliToken, _, _ := svc.CreateToken(ctx, "cli", models.RoleAgent, "cli")

		// Nobody disables, deletes or demotes themselves; the last admin stays.
		for name, err := range map[string]error{
			"disable self": func() error { _, err := svc.DisableUser(ctx, admin, lead.ID); return err }(),
			"delete self":  func() error { _, err := svc.DeleteUser(ctx, admin, lead.ID); return err }(),
			"demote self":  func() error { _, err := svc.SetRole(ctx, admin, lead.ID, models.RoleAgent); return err }(),
		} {
			if apperr.As(err).Code != apperr.Conflict {
				t.Errorf("%s: %v, want a conflict", name, err)
			}
		}
		if _, err := svc.SetRole(ctx, admin, bob.ID, "owner"); apperr.As(err).Code != apperr.Invalid {
			t.Errorf("unknown role: %v", err)
		}

		// Disabling ends sessions and tokens at once.
		if _, err := svc.DisableUser(ctx, admin, bob.ID); err != nil {
			t.Fatal(err)
		}
		for _, ck := range []string{bobCookie1, bobCookie2} {
			if _, err := svc.Session(ctx, ck); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("session after disable: %v", err)
			}
		}
		if _, err := svc.Token(ctx, tokenValue); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token after disable: %v", err)
		}
		if _, err := svc.Token(ctx, cliToken); err != nil {
			t.Fatalf("another token: %v", err)
		}
		if _, _, err := svc.Login(ctx, "bob@x.io", pw, "10.0.0.2"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("disabled account signs in: %v", err)
		}
		// Now the lead is the last active admin: the CLI cannot demote them either.
		if _, err := svc.SetRole(ctx, CLI, lead.ID, models.RoleAgent); apperr.As(err).Code != apperr.Conflict {
			t.Fatalf("demote the last active admin: %v", err)
		}
		if _, err := svc.EnableUser(ctx, admin, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Login(ctx, "bob@x.io", pw, "10.0.0.2"); err != nil {
			t.Fatalf("enabled account: %v", err)
		}
		if u, err := svc.SetRole(ctx, admin, bob.ID, models.RoleAgent); err != nil || u.Role != models.RoleAgent {
			t.Fatalf("demote bob: %+v %v", u, err)
		}

		// A reset password: sessions end, the temporary one works once, and must be changed.
		bobCookie, _, _ := svc.Login(ctx, "bob@x.io", pw, "10.0.0.2")
		temp, _, err := svc.AdminResetPassword(ctx, admin, bob.ID)
		if err != nil || len(temp) < MinPasswordLength {
			t.Fatalf("reset: %q %v", temp, err)
		}
		if _, err := svc.Session(ctx, bobCookie); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session after reset: %v", err)
		}
		if _, _, err := svc.Login(ctx, "bob@x.io", pw, "10.0.0.2"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("old password after reset: %v", err)
		}
		other, _, _ := svc.Login(ctx, "bob@x.io", temp, "10.0.0.4")
		_, p, err := svc.Login(ctx, "bob@x.io", temp, "10.0.0.2")
		if err != nil || !p.MustChangePassword {
			t.Fatalf("sign-in with the temporary password: %+v %v", p, err)
		}
		err = svc.ChangePassword(ctx, p, "nope", "short", "other", "10.0.0.2")
		if e := apperr.As(err); e.Fields["current"] == "" || e.Fields["new"] == "" || e.Fields["confirm"] == "" {
			t.Fatalf("bad change: %v", err)
		}
		if e := apperr.As(svc.ChangePassword(ctx, p, temp, temp, temp, "10.0.0.2")); e.Fields["new"] == "" {
			t.Fatalf("same password accepted: %v", e)
		}
		const mine = "bob's very own password"
		if err := svc.ChangePassword(ctx, p, temp, mine, mine, "10.0.0.2"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Session(ctx, other); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other session after a password change: %v", err)
		}
		if _, _, err := svc.Login(ctx, "bob@x.io", mine, "10.0.0.2"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		_, p, _ = svc.Login(ctx, "bob@x.io", mine, "10.0.0.2")
		if p.MustChangePassword {
			t.Fatal("still must change")
		}

		// Signing out everywhere, and an admin ending a user's sessions.
		ck1, p1, _ := svc.Login(ctx, "bob@x.io", mine, "10.0.0.2")
		if err := svc.SignOutEverywhere(ctx, p1, "10.0.0.2"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Session(ctx, ck1); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("session survived signing out everywhere")
		}
		ck2, _, _ := svc.Login(ctx, "bob@x.io", mine, "10.0.0.2")
		if n, err := svc.EndSessions(ctx, admin, bob.ID); err != nil || n != 1 {
			t.Fatalf("end sessions: %d %v", n, err)
		}
		if _, err := svc.Session(ctx, ck2); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("session survived an admin's sign-out")
		}

		if _, err := svc.DeleteUser(ctx, admin, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DeleteUser(ctx, admin, bob.ID); apperr.As(err).Code != apperr.NotFound {
			t.Fatalf("delete twice: %v", err)
		}
		log := auditActions(t, db)
		for _, want := range []string{"user.disable|lead@x.io|bob@x.io|ended 2 sessions, revoked 1 tokens", "user.enable|lead@x.io|bob@x.io",
			"user.role|lead@x.io|bob@x.io|admin → agent", "user.reset_password|lead@x.io|bob@x.io|ended 2 sessions",
			"password.change|bob@x.io|bob@x.io|ended 1 other sessions", "logout.everywhere|bob@x.io", "user.sign_out|lead@x.io|bob@x.io|ended 1 sessions",
			"user.delete|lead@x.io|bob@x.io", "login.failed|bob@x.io|bob@x.io|account disabled"} {
			if !strings.Contains(log, want) {
				t.Errorf("audit lacks %q", want)
			}
		}
		if strings.Contains(log, temp) || strings.Contains(log, mine) {
			t.Fatal("a password is in the audit log")
		}
	})
}
