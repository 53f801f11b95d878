package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"coexhistory/internal/apperr"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

func TestDummyHashIsAValidBcryptHash(t *testing.T) {
	// Unknown accounts must cost a real bcrypt comparison, not a fast format error.
	if _, err := bcrypt.Cost([]byte(dummyHash)); err != nil {
		t.Fatalf("dummy hash: %v", err)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	l := NewLimiter(3, 10*time.Minute, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if !l.Allow("ip|a") {
			t.Fatalf("refused after %d failures", i)
		}
		l.Fail("ip|a")
	}
	if l.Allow("ip|a") {
		t.Fatal("allowed after 3 failures")
	}
	if !l.Allow("ip|b") {
		t.Fatal("another key is throttled too")
	}
	now = now.Add(11 * time.Minute)
	if !l.Allow("ip|a") {
		t.Fatal("still throttled after the window")
	}
	l.Fail("ip|a")
	l.Reset("ip|a")
	if !l.Allow("ip|a") || len(l.fails) != 0 {
		t.Fatal("reset did not forget")
	}
}

func TestSessionsExpire(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		svc := New(db, NewLimiter(5, time.Minute, nil), func() time.Time { return now }, bcrypt.MinCost)
		if _, err := svc.CreateUser(ctx, "Lead@Example.com", "long enough password", models.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		_, err := svc.CreateUser(ctx, "lead@example.com", "long enough password", models.RoleAgent)
		if e := apperr.As(err); e.Code != apperr.Invalid || e.Fields["email"] == "" {
			t.Fatalf("duplicate e-mail: %v", err)
		}
		cookie, p, err := svc.Login(ctx, "lead@example.com", "long enough password", "10.0.0.1")
		if err != nil || p.Role != models.RoleAdmin || p.CSRFToken == "" {
			t.Fatalf("login: %+v %v", p, err)
		}
		if got, err := svc.Session(ctx, cookie); err != nil || got.UserID != p.UserID {
			t.Fatalf("session: %+v %v", got, err)
		}
		// A session past its expiry no longer signs in, and cleanup removes it.
		stale := models.Session{ID: secrets.Hash("stale-cookie"), UserID: p.UserID, CSRFToken: "x", ExpiresAt: time.Now().Add(-time.Minute)}
		if err := db.CreateSession(ctx, &stale); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Session(ctx, "stale-cookie"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
		if n, err := db.DeleteExpiredSessions(ctx); err != nil || n != 1 {
			t.Fatalf("cleanup removed %d (%v), want 1", n, err)
		}
		if _, err := svc.Session(ctx, cookie); err != nil {
			t.Fatalf("live session lost in cleanup: %v", err)
		}
		if _, err := svc.Session(ctx, "forged"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("forged cookie: %v", err)
		}
	})
}
