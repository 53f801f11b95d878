package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"coexhistory/internal/apperr"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

const pw = "long enough password"

// clock is a settable time source shared by a test's services.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSvc(db *store.DB, c *clock, l Limits) *Service { return New(db, l, c.now, bcrypt.MinCost) }

func TestDummyHashIsAValidBcryptHash(t *testing.T) {
	// Unknown accounts must cost a real bcrypt comparison at the cost real hashes have.
	cost, err := bcrypt.Cost([]byte(dummyHash))
	if err != nil || cost != bcrypt.DefaultCost {
		t.Fatalf("dummy hash cost %d (%v), want %d", cost, err, bcrypt.DefaultCost)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		" Admin@X.io ":         "admin@x.io",
		"ａdmin@x.io":           "admin@x.io", // full-width a
		"admin\u200b@x.io":     "admin@x.io", // zero-width space
		"ad\u00admin@x.io":     "admin@x.io", // soft hyphen
		"\ufeffadmin@x.io":     "admin@x.io", // BOM
		"ad\u200dmin@ｘ.ｉｏ":     "admin@x.io",
		"ADMİN@x.io":           "admi̇n@x.io", // dotted capital I folds to i + combining dot: not admin
		"Ädmin@x.io":           "ädmin@x.io",
		"ádmin@x.io":           "ádmin@x.io",
		"STRASSE@x.io":         "strasse@x.io",
		"stra\u00dfe@x.io":     "strasse@x.io", // ß folds to ss
		"admin@x.io\u202e":     "admin@x.io",   // right-to-left override
		"admin\u2060@x.io":     "admin@x.io",   // word joiner
		"\u0061\u0301dmin@x.i": "ádmin@x.i",    // decomposed á composes
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// Look-alikes of an address either are that account (and count against it) or are nobody;
// none registers as a second account. On MariaDB, utf8mb4_unicode_ci would have matched
// them all to admin@x.io with a fresh limiter key each.
func TestLookAlikeAddresses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{t: time.Now()}
		svc := newSvc(db, c, Limits{PerAccountClient: 5, PerAccount: 20, PerClient: 50, Window: 15 * time.Minute})
		admin, err := svc.CreateUser(ctx, "admin@x.io", pw, models.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		same := []string{"ａdmin@x.io", "admin\u200b@x.io", "ADMIN@x.io", "\ufeffAdmin@X.IO"}
		others := []string{"ádmin@x.io", "Ädmin@x.io", "a\u0301dmin@x.io", "admın@x.io"}
		for _, e := range append(append([]string{}, same...), others...) {
			_, err := svc.CreateUser(ctx, e, pw, models.RoleAgent)
			if ae := apperr.As(err); ae.Code != apperr.Invalid || ae.Fields["email"] == "" {
				t.Errorf("look-alike %q registered: %v", e, err)
			}
		}
		if n, _ := db.CountUsers(ctx); n != 1 {
			t.Fatalf("%d accounts, want 1", n)
		}
		for _, e := range others {
			if _, _, err := svc.Login(ctx, e, pw, "198.51.100.1"); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("%q with admin's password: %v, want the generic refusal", e, err)
			}
		}
		for _, e := range same {
			_, p, err := svc.Login(ctx, e, pw, "198.51.100.1")
			if err != nil || p.UserID != admin.ID {
				t.Errorf("%q: %+v %v, want admin's account", e, p, err)
			}
		}
		// Failures through look-alikes all count against the one account.
		for i := 0; i < 5; i++ {
			e := []string{"ａdmin@x.io", "admin\u200b@x.io", "ADMIN@x.io", "admin@x.io", "Admin@x.io"}[i]
			if _, _, err := svc.Login(ctx, e, "wrong password!", "198.51.100.2"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		for _, e := range same {
			if _, _, err := svc.Login(ctx, e, pw, "198.51.100.2"); !errors.Is(err, ErrTooManyAttempts) {
				t.Fatalf("%q after 5 failures: %v, want throttled", e, err)
			}
		}
		// Hammering the locked account from that address is audited once, and does not lock
		// the account for other addresses.
		for i := 0; i < 30; i++ {
			if _, _, err := svc.Login(ctx, "admin@x.io", "wrong password!", "198.51.100.2"); !errors.Is(err, ErrTooManyAttempts) {
				t.Fatalf("hammer %d: %v", i, err)
			}
		}
		if es, _ := db.ListAudit(ctx, store.AuditFilter{Action: "login.throttled"}); len(es) != 1 {
			t.Fatalf("%d login.throttled entries, want 1", len(es))
		}
		// Another client still gets in.
		if _, _, err := svc.Login(ctx, "admin@x.io", pw, "198.51.100.3"); err != nil {
			t.Fatalf("other client: %v", err)
		}
	})
}

func TestLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{t: time.Now()}
		l := Limits{PerAccountClient: 3, PerAccount: 5, PerClient: 4, Window: 10 * time.Minute}
		svc := newSvc(db, c, l)
		for _, e := range []string{"a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io", "f@x.io"} {
			if _, err := svc.CreateUser(ctx, e, pw, models.RoleAgent); err != nil {
				t.Fatal(err)
			}
		}
		// Per client: one password sprayed over many accounts, known or not.
		for i, e := range []string{"a@x.io", "b@x.io", "nobody@x.io", "c@x.io"} {
			if _, _, err := svc.Login(ctx, e, "spray password 1", "203.0.113.1"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("spray %d: %v", i, err)
			}
		}
		if _, _, err := svc.Login(ctx, "d@x.io", pw, "203.0.113.1"); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("5th account from the spraying client: %v, want throttled", err)
		}
		if _, _, err := svc.Login(ctx, "d@x.io", pw, "203.0.113.2"); err != nil {
			t.Fatalf("another client: %v", err)
		}
		// Per account: guesses spread over many clients.
		for i := 0; i < 5; i++ {
			if _, _, err := svc.Login(ctx, "e@x.io", "guess", fmt.Sprintf("192.0.2.%d", i+1)); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		if _, _, err := svc.Login(ctx, "e@x.io", pw, "192.0.2.99"); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("account after 5 failures from 5 clients: %v, want throttled", err)
		}
		// Unknown accounts are throttled just like known ones (no account enumeration).
		for i := 0; i < 3; i++ {
			svc.Login(ctx, "ghost@x.io", "guess", "192.0.2.200")
		}
		if _, _, err := svc.Login(ctx, "ghost@x.io", "guess", "192.0.2.200"); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("unknown account: %v, want throttled", err)
		}
		// A success clears this client's count for the account, but not the client's own.
		lenient := newSvc(db, c, Limits{PerAccountClient: 3, PerAccount: 10, PerClient: 5, Window: l.Window})
		for i := 0; i < 2; i++ {
			lenient.Login(ctx, "f@x.io", "guess", "192.0.2.50")
		}
		if _, _, err := lenient.Login(ctx, "f@x.io", pw, "192.0.2.50"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			lenient.Login(ctx, "f@x.io", "guess", "192.0.2.50")
		}
		if _, _, err := lenient.Login(ctx, "f@x.io", pw, "192.0.2.50"); err != nil {
			t.Fatalf("after a success, the count started again: %v", err)
		}
		lenient.Login(ctx, "f@x.io", "guess", "192.0.2.50")
		if _, _, err := lenient.Login(ctx, "f@x.io", pw, "192.0.2.50"); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("the client's own count was cleared by a success: %v", err)
		}

		// A restarted (or second) instance sees the same counters.
		other := newSvc(db, c, l)
		if _, _, err := other.Login(ctx, "e@x.io", pw, "192.0.2.99"); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("new instance forgot: %v", err)
		}
		// After the window everything is allowed again, and clean-up drops the rows.
		c.add(11 * time.Minute)
		if _, _, err := other.Login(ctx, "e@x.io", pw, "192.0.2.99"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		if _, _, err := other.Login(ctx, "d@x.io", pw, "203.0.113.1"); err != nil {
			t.Fatalf("client after the window: %v", err)
		}
		_, n, err := other.CleanUp(ctx)
		if err != nil || n == 0 {
			t.Fatalf("clean-up removed %d counters (%v)", n, err)
		}
	})
}

// Concurrent failures on two instances all count (the update is atomic).
func TestConcurrentFailuresAllCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		keys := []string{secrets.Hash("k1"), secrets.Hash("k2")}
		now := time.Now().UnixMilli()
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := db.AddThrottleFailure(ctx, keys, now, now-60_000); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err := db.ThrottleCounts(ctx, keys, now-60_000)
		if err != nil || got[keys[0]] != 20 || got[keys[1]] != 20 {
			t.Fatalf("counts %v (%v), want 20 each", got, err)
		}
		// A failure after the window starts a new one.
		if err := db.AddThrottleFailure(ctx, keys[:1], now+120_000, now+60_000); err != nil {
			t.Fatal(err)
		}
		got, _ = db.ThrottleCounts(ctx, keys, now+60_000)
		if got[keys[0]] != 1 || got[keys[1]] != 0 {
			t.Fatalf("after the window: %v", got)
		}
	})
}

// An unknown address takes about as long as a wrong password for a known one.
func TestUnknownAccountCostsABcrypt(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	svc := New(db, Limits{PerAccountClient: 100, PerAccount: 100, PerClient: 100, Window: time.Minute}, nil, bcrypt.DefaultCost)
	known, err := svc.CreateUser(ctx, "known@x.io", pw, models.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	var compared []string
	svc.compare = func(hash, password []byte) error {
		compared = append(compared, string(hash))
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	cases := []struct {
		email, wantHash string
	}{
		{"known@x.io", known.PasswordHash},
		{"unknown@x.io", dummyHash},
		{"not an address", dummyHash},
		{"ádmin@x.io", dummyHash},
	}
	for i, tc := range cases {
		compared = nil
		if _, _, err := svc.Login(ctx, tc.email, "wrong password", fmt.Sprintf("10.0.0.%d", i)); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("%q: %v", tc.email, err)
		}
		// One bcrypt comparison at the default cost, whether or not the account exists, so
		// the answer's timing does not tell accounts apart.
		if len(compared) != 1 || compared[0] != tc.wantHash {
			t.Fatalf("%q compared against %q, want one comparison against %q", tc.email, compared, tc.wantHash)
		}
	}
}

func TestSessionsExpire(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &clock{t: time.Now()}
		svc := newSvc(db, c, Limits{})
		if _, err := svc.CreateUser(ctx, "Lead@Example.com", pw, models.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		_, err := svc.CreateUser(ctx, "lead@example.com", pw, models.RoleAgent)
		if e := apperr.As(err); e.Code != apperr.Invalid || e.Fields["email"] == "" {
			t.Fatalf("duplicate e-mail: %v", err)
		}
		cookie, p, err := svc.Login(ctx, "lead@example.com", pw, "10.0.0.1")
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
		if n, err := db.DeleteExpiredSessions(ctx); err != nil || n > 1 {
			t.Fatalf("cleanup removed %d (%v)", n, err)
		}
		if _, err := svc.Session(ctx, cookie); err != nil {
			t.Fatalf("live session lost in cleanup: %v", err)
		}
		if _, err := svc.Session(ctx, "forged"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("forged cookie: %v", err)
		}
		// Requests keep a session alive; IdleTimeout without one ends it.
		for i := 0; i < 3; i++ {
			c.add(IdleTimeout - time.Minute)
			if _, err := svc.Session(ctx, cookie); err != nil {
				t.Fatalf("active session ended after %d idle gaps: %v", i+1, err)
			}
		}
		// Polls (PassiveSession) do not count as activity.
		for i := 0; i < 3; i++ {
			c.add(IdleTimeout / 3)
			if i < 2 {
				if _, err := svc.PassiveSession(ctx, cookie); err != nil {
					t.Fatalf("poll %d: %v", i, err)
				}
			}
		}
		if _, err := svc.PassiveSession(ctx, cookie); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("idle session kept alive by polls: %v", err)
		}
		// Idle sessions are cleaned up too.
		cookie, _, err = svc.Login(ctx, "lead@example.com", pw, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		c.add(IdleTimeout + time.Minute)
		if n, _, err := svc.CleanUp(ctx); err != nil || n != 1 {
			t.Fatalf("idle clean-up removed %d (%v)", n, err)
		}
		// And no session outlives SessionTTL, however busy.
		cookie, _, err = svc.Login(ctx, "lead@example.com", pw, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		for d := time.Duration(0); d < SessionTTL; d += 20 * time.Minute {
			c.add(20 * time.Minute)
			_, _ = svc.Session(ctx, cookie)
		}
		if _, err := svc.Session(ctx, cookie); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session past SessionTTL: %v", err)
		}
	})
}
