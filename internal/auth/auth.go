// Package auth signs staff in and out, keeps their sessions in the database (so any app
// instance can serve any user), manages the accounts' life (disable, delete, roles,
// passwords), and checks API bearer tokens.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"coexhistory/internal/apperr"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// A sign-in lasts at most SessionTTL, and ends earlier after IdleTimeout without a request:
// a working day, and a coffee break on a shared computer.
const (
	SessionTTL  = 8 * time.Hour
	IdleTimeout = 30 * time.Minute
)

// touchEvery is how stale a session's last-seen time may get before a request rewrites it,
// so that browsing does not turn every page into a write.
const touchEvery = time.Minute

// MinPasswordLength is the shortest password accepted for an account.
const MinPasswordLength = 12

// passwordTooShort is the rule of MinPasswordLength in words, spelled out so the pages can
// show it in the reader's language (i18n.Known).
const passwordTooShort = "Use at least 12 characters."

// Store is what auth needs from the database.
type Store interface {
	ThrottleStore
	CreateUser(ctx context.Context, u *models.User) error
	UserByEmail(ctx context.Context, normEmail string) (models.User, error)
	UserByID(ctx context.Context, id uint64) (models.User, error)
	ListUsers(ctx context.Context) ([]models.User, error)
	CountActiveAdmins(ctx context.Context) (int64, error)
	SetPasswordHash(ctx context.Context, userID uint64, hash string, mustChange bool) error
	SetUserRole(ctx context.Context, userID uint64, role string) error
	SetUserDisabled(ctx context.Context, userID uint64, at *time.Time) (sessions, tokens int64, err error)
	DeleteUser(ctx context.Context, userID uint64) (models.User, error)
	TouchLogin(ctx context.Context, userID uint64) error
	CreateSession(ctx context.Context, s *models.Session) error
	SessionWithUser(ctx context.Context, id string) (models.Session, models.User, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	DeleteUserSessions(ctx context.Context, userID uint64, exceptID string) (int64, error)
	DeleteExpiredSessions(ctx context.Context) (int64, error)
	DeleteIdleSessions(ctx context.Context, seenBefore time.Time) (int64, error)
	CreateAPIToken(ctx context.Context, t *models.APIToken) error
	APITokenByHash(ctx context.Context, hash string) (models.APIToken, error)
	Audit(ctx context.Context, e models.AuditEntry) error
}

// Service is the sign-in service.
type Service struct {
	store    Store
	throttle ThrottleStore
	limits   Limits
	now      func() time.Time
	cost     int
	// compare checks a password against a bcrypt hash; a field so that tests can see which
	// hash each sign-in spends its time on.
	compare func(hash, password []byte) error
}

// New returns a Service. bcryptCost 0 means bcrypt.DefaultCost; zero limits mean
// DefaultLimits.
func New(s Store, limits Limits, now func() time.Time, bcryptCost int) *Service {
	if bcryptCost == 0 {
		bcryptCost = bcrypt.DefaultCost
	}
	if now == nil {
		now = time.Now
	}
	if limits == (Limits{}) {
		limits = DefaultLimits
	}
	return &Service{store: s, throttle: s, limits: limits, now: now, cost: bcryptCost, compare: bcrypt.CompareHashAndPassword}
}

// Principal is who is making a request.
type Principal struct {
	UserID             uint64
	Name               string // e-mail, or "token:<name>"
	Role               string
	CSRFToken          string // empty for API tokens
	SessionID          string
	MustChangePassword bool // an admin reset the password: only the change form is open
}

// IsAdmin reports whether the principal may manage numbers, users and tokens.
func (p Principal) IsAdmin() bool { return p.Role == models.RoleAdmin }

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return r == models.RoleAdmin || r == models.RoleAgent }

func passwordProblem(password string) string {
	switch {
	case len(password) < MinPasswordLength:
		return passwordTooShort
	case len(password) > 72:
		return "Use at most 72 characters."
	}
	return ""
}

// CreateUser validates and stores an account with a bcrypt hash of its password.
func (s *Service) CreateUser(ctx context.Context, email, password, role string) (models.User, error) {
	norm := NormalizeEmail(email)
	fields := map[string]string{}
	if !validEmail(norm) {
		fields["email"] = "Enter a valid e-mail address (plain ASCII letters, digits and punctuation)."
	}
	if p := passwordProblem(password); p != "" {
		fields["password"] = p
	}
	if !ValidRole(role) {
		fields["role"] = "Choose admin or agent."
	}
	if len(fields) > 0 {
		return models.User{}, apperr.InvalidFields(fields)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return models.User{}, fmt.Errorf("hash password: %w", err)
	}
	u := models.User{Email: norm, EmailNorm: norm, PasswordHash: string(hash), Role: role}
	if err := s.store.CreateUser(ctx, &u); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return u, apperr.InvalidFields(map[string]string{"email": "An account with this e-mail already exists."})
		}
		return u, err
	}
	return u, nil
}

// ResetPassword gives the existing account email a new password (the demo does this on
// every start). The rules of CreateUser apply; a missing account is store.ErrNotFound.
func (s *Service) ResetPassword(ctx context.Context, email, password string) (models.User, error) {
	if p := passwordProblem(password); p != "" {
		return models.User{}, apperr.InvalidFields(map[string]string{"password": p})
	}
	u, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return u, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return u, fmt.Errorf("hash password: %w", err)
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, string(hash), false); err != nil {
		return u, err
	}
	u.PasswordHash = string(hash)
	return u, nil
}

// ErrBadCredentials is the one answer for an unknown e-mail, a wrong password or a
// disabled account.
var ErrBadCredentials = apperr.New(apperr.Unauthorized, "E-mail or password is wrong.")

// ErrTooManyAttempts is returned while a client or an account is rate limited.
var ErrTooManyAttempts = apperr.New(apperr.Forbidden, "Too many sign-in attempts. Wait a few minutes and try again.")

// clip keeps a typed value within an audit column.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// Login checks credentials and opens a session. It returns the cookie value (the session
// id is its hash) and the principal. An unknown address costs the same bcrypt comparison
// as a known one, and every refusal says the same.
func (s *Service) Login(ctx context.Context, email, password, remoteIP string) (cookie string, p Principal, err error) {
	norm := NormalizeEmail(email)
	var u models.User
	if validEmail(norm) {
		u, err = s.store.UserByEmail(ctx, norm)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", p, fmt.Errorf("find user: %w", err)
		}
	}
	keys := keysFor(u.ID, norm, remoteIP)
	ok, first, err := s.allowed(ctx, keys)
	if err != nil {
		return "", p, fmt.Errorf("sign-in throttle: %w", err)
	}
	if !ok {
		if first {
			_ = s.store.Audit(ctx, models.AuditEntry{Actor: clip(email), Action: "login.throttled", Target: clip(norm), RemoteIP: remoteIP})
		}
		return "", p, ErrTooManyAttempts
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = dummyHash // spend the same time for unknown accounts
	}
	wrong := s.compare([]byte(hash), []byte(password)) != nil
	if wrong || u.ID == 0 || u.DisabledAt != nil {
		if err := s.failed(ctx, keys); err != nil {
			return "", p, fmt.Errorf("sign-in throttle: %w", err)
		}
		detail := ""
		if !wrong && u.DisabledAt != nil {
			detail = "account disabled"
		}
		_ = s.store.Audit(ctx, models.AuditEntry{Actor: clip(email), Action: "login.failed", Target: clip(norm), Detail: detail, RemoteIP: remoteIP})
		return "", p, ErrBadCredentials
	}
	if err := s.succeeded(ctx, keys); err != nil {
		return "", p, fmt.Errorf("sign-in throttle: %w", err)
	}
	cookie, sess, err := s.openSession(ctx, u)
	if err != nil {
		return "", p, err
	}
	_ = s.store.TouchLogin(ctx, u.ID)
	_ = s.store.Audit(ctx, models.AuditEntry{Actor: u.Email, Action: "login", Target: u.Email, RemoteIP: remoteIP})
	return cookie, principal(u, sess), nil
}

func (s *Service) openSession(ctx context.Context, u models.User) (string, models.Session, error) {
	cookie := secrets.Token(32)
	now := s.now().UTC()
	sess := models.Session{
		ID:         secrets.Hash(cookie),
		UserID:     u.ID,
		CSRFToken:  secrets.Token(32),
		ExpiresAt:  now.Add(SessionTTL),
		LastSeenAt: &now,
	}
	if err := s.store.CreateSession(ctx, &sess); err != nil {
		return "", sess, fmt.Errorf("create session: %w", err)
	}
	return cookie, sess, nil
}

// Session resolves a session cookie: store.ErrNotFound when there is none, it expired, it
// was idle for IdleTimeout, or its account is disabled. The request counts as activity.
func (s *Service) Session(ctx context.Context, cookie string) (Principal, error) {
	return s.session(ctx, cookie, true)
}

// PassiveSession is Session for a request no person made (a page polling for news): it
// does not count as activity, so an unattended open tab still ends after IdleTimeout.
func (s *Service) PassiveSession(ctx context.Context, cookie string) (Principal, error) {
	return s.session(ctx, cookie, false)
}

func (s *Service) session(ctx context.Context, cookie string, active bool) (Principal, error) {
	if cookie == "" {
		return Principal{}, store.ErrNotFound
	}
	sess, u, err := s.store.SessionWithUser(ctx, secrets.Hash(cookie))
	if err != nil {
		return Principal{}, err
	}
	now := s.now().UTC()
	seen := sess.CreatedAt
	if sess.LastSeenAt != nil {
		seen = *sess.LastSeenAt
	}
	if u.DisabledAt != nil || now.Sub(seen) >= IdleTimeout || !now.Before(sess.ExpiresAt) {
		_ = s.store.DeleteSession(ctx, sess.ID)
		return Principal{}, store.ErrNotFound
	}
	if active && now.Sub(seen) >= touchEvery {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			return Principal{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return principal(u, sess), nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, p Principal, remoteIP string) error {
	if err := s.store.DeleteSession(ctx, p.SessionID); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return s.store.Audit(ctx, models.AuditEntry{Actor: p.Name, Action: "logout", Target: p.Name, RemoteIP: remoteIP})
}

// CleanUp removes sessions past their expiry or idle time and sign-in counters whose
// window has passed.
func (s *Service) CleanUp(ctx context.Context) (sessions, counters int64, err error) {
	n, err := s.store.DeleteExpiredSessions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	m, err := s.store.DeleteIdleSessions(ctx, s.now().UTC().Add(-IdleTimeout))
	if err != nil {
		return n, 0, fmt.Errorf("delete idle sessions: %w", err)
	}
	c, err := s.store.DeleteStaleThrottles(ctx, s.now().Add(-s.limits.Window).UnixMilli())
	if err != nil {
		return n + m, 0, fmt.Errorf("delete sign-in counters: %w", err)
	}
	return n + m, c, nil
}

// CreateToken makes a new API token that no account owns (the CLI's) and returns its
// value; only its hash is stored.
func (s *Service) CreateToken(ctx context.Context, name, role, createdBy string) (string, models.APIToken, error) {
	return s.createToken(ctx, name, role, createdBy, 0)
}

// CreateTokenFor makes a new API token created by the signed-in p: disabling or deleting
// p's account revokes it.
func (s *Service) CreateTokenFor(ctx context.Context, p Principal, name, role string) (string, models.APIToken, error) {
	return s.createToken(ctx, name, role, p.Name, p.UserID)
}

func (s *Service) createToken(ctx context.Context, name, role, createdBy string, creatorID uint64) (string, models.APIToken, error) {
	name = trimSpace(name)
	fields := map[string]string{}
	if name == "" || len(name) > 120 {
		fields["name"] = "Give the token a name (up to 120 characters)."
	}
	if !ValidRole(role) {
		fields["role"] = "Choose admin or agent."
	}
	if len(fields) > 0 {
		return "", models.APIToken{}, apperr.InvalidFields(fields)
	}
	value := "coex_" + secrets.Token(32)
	t := models.APIToken{Name: name, Role: role, TokenHash: secrets.Hash(value), CreatedBy: createdBy}
	if creatorID != 0 {
		t.UserID = &creatorID
	}
	if err := s.store.CreateAPIToken(ctx, &t); err != nil {
		return "", t, fmt.Errorf("create token: %w", err)
	}
	return value, t, nil
}

// Token resolves an API bearer token.
func (s *Service) Token(ctx context.Context, value string) (Principal, error) {
	if value == "" {
		return Principal{}, store.ErrNotFound
	}
	t, err := s.store.APITokenByHash(ctx, secrets.Hash(value))
	if err != nil {
		return Principal{}, err
	}
	return Principal{Name: "token:" + t.Name, Role: t.Role}, nil
}

func principal(u models.User, s models.Session) Principal {
	return Principal{UserID: u.ID, Name: u.Email, Role: u.Role, CSRFToken: s.CSRFToken, SessionID: s.ID, MustChangePassword: u.MustChangePassword}
}

// dummyHash is a bcrypt hash of a random string, compared against for unknown accounts.
const dummyHash = "$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z0fAhhWvI7Ik6ePNK6E2hnBy"

func trimSpace(s string) string { return strings.TrimSpace(s) }
