// Package auth signs staff in and out, keeps their sessions in the database (so any app
// instance can serve any user), and checks API bearer tokens.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"coexhistory/internal/apperr"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 12 * time.Hour

// MinPasswordLength is the shortest password accepted for an account.
const MinPasswordLength = 12

// Store is what auth needs from the database.
type Store interface {
	CreateUser(ctx context.Context, u *models.User) error
	UserByEmail(ctx context.Context, email string) (models.User, error)
	SetPasswordHash(ctx context.Context, userID uint64, hash string) error
	TouchLogin(ctx context.Context, userID uint64) error
	CreateSession(ctx context.Context, s *models.Session) error
	SessionWithUser(ctx context.Context, id string) (models.Session, models.User, error)
	DeleteSession(ctx context.Context, id string) error
	CreateAPIToken(ctx context.Context, t *models.APIToken) error
	APITokenByHash(ctx context.Context, hash string) (models.APIToken, error)
	Audit(ctx context.Context, e models.AuditEntry) error
}

// Service is the sign-in service.
type Service struct {
	store   Store
	limiter *Limiter
	now     func() time.Time
	cost    int
}

// New returns a Service. bcryptCost 0 means bcrypt.DefaultCost.
func New(s Store, limiter *Limiter, now func() time.Time, bcryptCost int) *Service {
	if bcryptCost == 0 {
		bcryptCost = bcrypt.DefaultCost
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, limiter: limiter, now: now, cost: bcryptCost}
}

// Principal is who is making a request.
type Principal struct {
	UserID    uint64
	Name      string // e-mail, or "token:<name>"
	Role      string
	CSRFToken string // empty for API tokens
	SessionID string
}

// IsAdmin reports whether the principal may manage numbers, users and tokens.
func (p Principal) IsAdmin() bool { return p.Role == models.RoleAdmin }

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return r == models.RoleAdmin || r == models.RoleAgent }

// CreateUser validates and stores an account with a bcrypt hash of its password.
func (s *Service) CreateUser(ctx context.Context, email, password, role string) (models.User, error) {
	email = strings.TrimSpace(strings.ToLower(email))
	fields := map[string]string{}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		fields["email"] = "Enter a valid e-mail address."
	}
	if len(password) < MinPasswordLength {
		fields["password"] = fmt.Sprintf("Use at least %d characters.", MinPasswordLength)
	}
	if len(password) > 72 {
		fields["password"] = "Use at most 72 characters."
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
	u := models.User{Email: email, PasswordHash: string(hash), Role: role}
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
	email = strings.TrimSpace(strings.ToLower(email))
	if len(password) < MinPasswordLength || len(password) > 72 {
		return models.User{}, apperr.InvalidFields(map[string]string{"password": fmt.Sprintf("Use %d to 72 characters.", MinPasswordLength)})
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return u, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return u, fmt.Errorf("hash password: %w", err)
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, string(hash)); err != nil {
		return u, err
	}
	u.PasswordHash = string(hash)
	return u, nil
}

// ErrBadCredentials is the one answer for an unknown e-mail or a wrong password.
var ErrBadCredentials = apperr.New(apperr.Unauthorized, "E-mail or password is wrong.")

// ErrTooManyAttempts is returned while a client is rate limited.
var ErrTooManyAttempts = apperr.New(apperr.Forbidden, "Too many sign-in attempts. Wait a few minutes and try again.")

// Login checks credentials and opens a session. It returns the cookie value (the session
// id is its hash) and the CSRF token of the session.
func (s *Service) Login(ctx context.Context, email, password, remoteIP string) (cookie string, p Principal, err error) {
	email = strings.TrimSpace(strings.ToLower(email))
	key := remoteIP + "|" + email
	if !s.limiter.Allow(key) {
		_ = s.store.Audit(ctx, models.AuditEntry{Actor: email, Action: "login.throttled", Target: email, RemoteIP: remoteIP})
		return "", p, ErrTooManyAttempts
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", p, fmt.Errorf("find user: %w", err)
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = dummyHash // spend the same time for unknown accounts
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || u.ID == 0 {
		s.limiter.Fail(key)
		_ = s.store.Audit(ctx, models.AuditEntry{Actor: email, Action: "login.failed", Target: email, RemoteIP: remoteIP})
		return "", p, ErrBadCredentials
	}
	s.limiter.Reset(key)
	cookie = secrets.Token(32)
	sess := models.Session{
		ID:        secrets.Hash(cookie),
		UserID:    u.ID,
		CSRFToken: secrets.Token(32),
		ExpiresAt: s.now().UTC().Add(SessionTTL),
	}
	if err := s.store.CreateSession(ctx, &sess); err != nil {
		return "", p, fmt.Errorf("create session: %w", err)
	}
	_ = s.store.TouchLogin(ctx, u.ID)
	_ = s.store.Audit(ctx, models.AuditEntry{Actor: u.Email, Action: "login", Target: u.Email, RemoteIP: remoteIP})
	return cookie, principal(u, sess), nil
}

// Session resolves a session cookie.
func (s *Service) Session(ctx context.Context, cookie string) (Principal, error) {
	if cookie == "" {
		return Principal{}, store.ErrNotFound
	}
	sess, u, err := s.store.SessionWithUser(ctx, secrets.Hash(cookie))
	if err != nil {
		return Principal{}, err
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

// CreateToken makes a new API token and returns its value; only its hash is stored.
func (s *Service) CreateToken(ctx context.Context, name, role, createdBy string) (string, models.APIToken, error) {
	name = strings.TrimSpace(name)
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
	return Principal{UserID: u.ID, Name: u.Email, Role: u.Role, CSRFToken: s.CSRFToken, SessionID: s.ID}
}

// dummyHash is a bcrypt hash of a random string, compared against for unknown accounts.
const dummyHash = "$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z0fAhhWvI7Ik6ePNK6E2hnBy"

// Limiter throttles failed sign-ins per key (client address + e-mail): after Max failures
// within Window, Allow answers false until the window has passed.
type Limiter struct {
	mu     sync.Mutex
	Max    int
	Window time.Duration
	now    func() time.Time
	fails  map[string][]time.Time
}

// NewLimiter returns a Limiter.
func NewLimiter(max int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{Max: max, Window: window, now: now, fails: map[string][]time.Time{}}
}

// Allow reports whether key may try again.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key)) < l.Max
}

// Fail records a failure.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[key] = append(l.recent(key), l.now())
	if len(l.fails) > 100_000 { // bound memory under a spray of keys
		l.fails = map[string][]time.Time{}
	}
}

// Reset forgets key's failures.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

func (l *Limiter) recent(key string) []time.Time {
	cut := l.now().Add(-l.Window)
	kept := l.fails[key][:0]
	for _, t := range l.fails[key] {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = kept
	return kept
}
