package store

import (
	"context"
	"fmt"
	"time"

	"coexhistory/models"
)

// CreateUser inserts a staff account; a taken e-mail is ErrDuplicate.
func (db *DB) CreateUser(ctx context.Context, u *models.User) error {
	u.CreatedAt = db.now()
	if err := db.q(ctx).Create(u).Error; err != nil {
		return fmt.Errorf("create user: %w", translate(err))
	}
	return nil
}

// UserByEmail finds an account by e-mail (case-insensitive).
func (db *DB) UserByEmail(ctx context.Context, email string) (models.User, error) {
	var u models.User
	err := db.q(ctx).Where("email = ?", email).Take(&u).Error
	return u, translate(err)
}

// UserByID finds an account.
func (db *DB) UserByID(ctx context.Context, id uint64) (models.User, error) {
	var u models.User
	err := db.q(ctx).Where("id = ?", id).Take(&u).Error
	return u, translate(err)
}

// ListUsers lists accounts by e-mail.
func (db *DB) ListUsers(ctx context.Context) ([]models.User, error) {
	var us []models.User
	err := db.q(ctx).Select("id", "email", "role", "created_at", "last_login_at").Order("email").Find(&us).Error
	return us, translate(err)
}

// CountUsers counts accounts.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := db.q(ctx).Model(&models.User{}).Count(&n).Error
	return n, translate(err)
}

// SetPasswordHash replaces the password hash of an account.
func (db *DB) SetPasswordHash(ctx context.Context, userID uint64, hash string) error {
	res := db.q(ctx).Model(&models.User{}).Where("id = ?", userID).Update("password_hash", hash)
	if res.Error != nil {
		return fmt.Errorf("set password: %w", translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchLogin records a successful sign-in.
func (db *DB) TouchLogin(ctx context.Context, userID uint64) error {
	return translate(db.q(ctx).Model(&models.User{}).Where("id = ?", userID).Update("last_login_at", db.now()).Error)
}

// CreateSession stores a session.
func (db *DB) CreateSession(ctx context.Context, s *models.Session) error {
	s.CreatedAt = db.now()
	return translate(db.q(ctx).Create(s).Error)
}

// SessionWithUser returns a live session and its user.
func (db *DB) SessionWithUser(ctx context.Context, id string) (models.Session, models.User, error) {
	var s models.Session
	if err := db.q(ctx).Where("id = ? AND expires_at > ?", id, db.now()).Take(&s).Error; err != nil {
		return s, models.User{}, translate(err)
	}
	u, err := db.UserByID(ctx, s.UserID)
	return s, u, err
}

// DeleteSession signs a session out.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	return translate(db.q(ctx).Where("id = ?", id).Delete(&models.Session{}).Error)
}

// DeleteExpiredSessions removes sessions past their expiry.
func (db *DB) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res := db.q(ctx).Where("expires_at <= ?", db.now()).Delete(&models.Session{})
	return res.RowsAffected, translate(res.Error)
}

// CreateAPIToken stores a token (its hash only).
func (db *DB) CreateAPIToken(ctx context.Context, t *models.APIToken) error {
	t.CreatedAt = db.now()
	return translate(db.q(ctx).Create(t).Error)
}

// APITokenByHash finds a token by the SHA-256 of its value and records its use.
func (db *DB) APITokenByHash(ctx context.Context, hash string) (models.APIToken, error) {
	var t models.APIToken
	if err := db.q(ctx).Where("token_hash = ?", hash).Take(&t).Error; err != nil {
		return t, translate(err)
	}
	now := db.now()
	// Record use at most once a minute, so API traffic does not turn into writes.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		_ = db.q(ctx).Model(&models.APIToken{}).Where("id = ?", t.ID).Update("last_used_at", now).Error
	}
	return t, nil
}

// ListAPITokens lists tokens, newest first.
func (db *DB) ListAPITokens(ctx context.Context) ([]models.APIToken, error) {
	var ts []models.APIToken
	err := db.q(ctx).Select("id", "name", "role", "created_by", "created_at", "last_used_at").Order("id DESC").Find(&ts).Error
	return ts, translate(err)
}

// DeleteAPIToken revokes a token.
func (db *DB) DeleteAPIToken(ctx context.Context, id uint64) (models.APIToken, error) {
	var t models.APIToken
	if err := db.q(ctx).Where("id = ?", id).Take(&t).Error; err != nil {
		return t, translate(err)
	}
	return t, translate(db.q(ctx).Where("id = ?", id).Delete(&models.APIToken{}).Error)
}
