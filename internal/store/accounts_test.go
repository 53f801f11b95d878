package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

func addUser(t *testing.T, db *store.DB, email, role string) models.User {
	t.Helper()
	u := models.User{Email: email, EmailNorm: email, PasswordHash: "x", Role: role}
	if err := db.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func addSession(t *testing.T, db *store.DB, id string, userID uint64) {
	t.Helper()
	s := models.Session{ID: id, UserID: userID, CSRFToken: "c", ExpiresAt: time.Now().Add(time.Hour)}
	if err := db.CreateSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
}

func addToken(t *testing.T, db *store.DB, hash string, userID uint64) {
	t.Helper()
	tok := models.APIToken{Name: hash, Role: models.RoleAgent, TokenHash: hash, CreatedBy: "x"}
	if userID != 0 {
		tok.UserID = &userID
	}
	if err := db.CreateAPIToken(context.Background(), &tok); err != nil {
		t.Fatal(err)
	}
}

func TestAccountLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ana := addUser(t, db, "ana@x.io", models.RoleAdmin)
		bob := addUser(t, db, "bob@x.io", models.RoleAgent)
		addSession(t, db, "ana-1", ana.ID)
		addSession(t, db, "bob-1", bob.ID)
		addSession(t, db, "bob-2", bob.ID)
		addToken(t, db, "bob-token", bob.ID)
		addToken(t, db, "cli-token", 0)
		if err := db.SetUserDisplay(ctx, bob.ID, "America/Sao_Paulo", ""); err != nil {
			t.Fatal(err)
		}

		// The normalised address is unique.
		dup := models.User{Email: "BOB@x.io", EmailNorm: "bob@x.io", PasswordHash: "x", Role: models.RoleAgent}
		if err := db.CreateUser(ctx, &dup); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate normalised e-mail: %v", err)
		}
		if got, err := db.UserByEmail(ctx, "bob@x.io"); err != nil || got.ID != bob.ID {
			t.Fatalf("by e-mail: %+v %v", got, err)
		}
		if _, err := db.UserByEmail(ctx, "BOB@x.io"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the normalised column is compared byte for byte: %v", err)
		}

		// Setting what is already set is no "not found", on MySQL either.
		if err := db.SetUserRole(ctx, bob.ID, models.RoleAgent); err != nil {
			t.Fatalf("same role: %v", err)
		}
		if err := db.SetUserRole(ctx, 999, models.RoleAgent); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing account: %v", err)
		}
		if n, err := db.CountActiveAdmins(ctx); err != nil || n != 1 {
			t.Fatalf("active admins %d %v", n, err)
		}

		// Disabling ends sessions and revokes the account's tokens, nobody else's.
		now := time.Now().UTC()
		sessions, tokens, err := db.SetUserDisabled(ctx, bob.ID, &now)
		if err != nil || sessions != 2 || tokens != 1 {
			t.Fatalf("disable: %d sessions, %d tokens, %v", sessions, tokens, err)
		}
		if _, _, err := db.SessionWithUser(ctx, "bob-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob's session after disable: %v", err)
		}
		if _, err := db.APITokenByHash(ctx, "bob-token"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob's token after disable: %v", err)
		}
		if _, _, err := db.SessionWithUser(ctx, "ana-1"); err != nil {
			t.Fatalf("ana's session: %v", err)
		}
		if _, err := db.APITokenByHash(ctx, "cli-token"); err != nil {
			t.Fatalf("the CLI's token: %v", err)
		}
		u, _ := db.UserByID(ctx, bob.ID)
		if u.DisabledAt == nil {
			t.Fatal("not disabled")
		}
		if _, _, err := db.SetUserDisabled(ctx, bob.ID, nil); err != nil {
			t.Fatal(err)
		}
		if u, _ = db.UserByID(ctx, bob.ID); u.DisabledAt != nil {
			t.Fatal("not enabled")
		}

		// A password reset flags the account.
		if err := db.SetPasswordHash(ctx, bob.ID, "y", true); err != nil {
			t.Fatal(err)
		}
		if u, _ = db.UserByID(ctx, bob.ID); !u.MustChangePassword || u.PasswordHash != "y" {
			t.Fatalf("reset: %+v", u)
		}

		// Signing out everywhere but here.
		addSession(t, db, "bob-3", bob.ID)
		addSession(t, db, "bob-4", bob.ID)
		if n, err := db.DeleteUserSessions(ctx, bob.ID, "bob-4"); err != nil || n != 1 {
			t.Fatalf("other sessions: %d %v", n, err)
		}
		if n, _ := db.CountUserSessions(ctx, bob.ID); n != 1 {
			t.Fatalf("%d sessions left, want 1", n)
		}

		// Deleting removes the account, its sessions, tokens and preferences.
		addToken(t, db, "bob-token-2", bob.ID)
		if _, err := db.DeleteUser(ctx, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UserByID(ctx, bob.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted account: %v", err)
		}
		if n, _ := db.CountUserSessions(ctx, bob.ID); n != 0 {
			t.Fatalf("%d sessions of a deleted account", n)
		}
		if _, err := db.APITokenByHash(ctx, "bob-token-2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token of a deleted account: %v", err)
		}
		if p, err := db.UserPreferences(ctx, bob.ID); err != nil || p.TimeZone != "" {
			t.Fatalf("preferences of a deleted account: %+v %v", p, err)
		}
		if _, err := db.DeleteUser(ctx, bob.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}

		// Idle sessions are removed by last-seen time.
		old := time.Now().UTC().Add(-2 * time.Hour)
		stale := models.Session{ID: "ana-old", UserID: ana.ID, CSRFToken: "c", ExpiresAt: time.Now().Add(time.Hour), LastSeenAt: &old}
		if err := db.CreateSession(ctx, &stale); err != nil {
			t.Fatal(err)
		}
		if n, err := db.DeleteIdleSessions(ctx, time.Now().UTC().Add(-time.Hour)); err != nil || n != 1 {
			t.Fatalf("idle sessions removed %d %v", n, err)
		}
		if err := db.TouchSession(ctx, "ana-1", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	})
}
