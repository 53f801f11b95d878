package store

import (
	"context"
	"fmt"
	"time"

	"coexhistory/models"
)

// CreateUser inserts a staff account; a taken (normalised) e-mail is ErrDuplicate.
func (db *DB) CreateUser(ctx context.Context, u *models.User) error {
	if u.EmailNorm == "" {
		return fmt.Errorf("create user: no normalised e-mail")
	}
	u.CreatedAt = db.now()
	if err := db.q(ctx).Create(u).Error; err != nil {
		return fmt.Errorf("create user: %w", translate(err))
	}
	return nil
}

// UserByEmail finds an account by its normalised e-mail, compared byte for byte (the
// column is utf8mb4_bin on MySQL), so no look-alike finds it.
func (db *DB) UserByEmail(ctx context.Context, normEmail string) (models.User, error) {
	var u models.User
	err := db.q(ctx).Where("email_norm = ?", normEmail).Take(&u).Error
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
	err := db.q(ctx).Select("id", "email", "role", "created_at", "last_login_at", "disabled_at", "must_change_password").
		Order("email").Find(&us).Error
	return us, translate(err)
}

// CountUsers counts accounts.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := db.q(ctx).Model(&models.User{}).Count(&n).Error
	return n, translate(err)
}

// CountActiveAdmins counts admin accounts that are not disabled.
func (db *DB) CountActiveAdmins(ctx context.Context) (int64, error) {
	var n int64
	err := db.q(ctx).Model(&models.User{}).Where("role = ? AND disabled_at IS NULL", models.RoleAdmin).Count(&n).Error
	return n, translate(err)
}

// updateUser sets columns of one account; a missing account is ErrNotFound. (MySQL counts
// only changed rows, so no row affected may still mean the account exists.)
func (db *DB) updateUser(ctx context.Context, what string, userID uint64, values map[string]any) error {
	res := db.q(ctx).Model(&models.User{}).Where("id = ?", userID).Updates(values)
	if res.Error != nil {
		return fmt.Errorf("%s: %w", what, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		if _, err := db.UserByID(ctx, userID); err != nil {
			return err
		}
	}
	return nil
}

// SetPasswordHash replaces the password hash of an account; mustChange makes the next
// sign-in change it first.
func (db *DB) SetPasswordHash(ctx context.Context, userID uint64, hash string, mustChange bool) error {
	return db.updateUser(ctx, "set password", userID, map[string]any{"password_hash": hash, "must_change_password": mustChange})
}

// SetUserRole changes the role of an account.
// Demoting an admin also revokes the admin API tokens the account created, in the same
// transaction: a token must never carry more than its owner may do.
func (db *DB) SetUserRole(ctx context.Context, userID uint64, role string) error {
	return db.Tx(ctx, func(tx *DB) error {
		if err := tx.updateUser(ctx, "set role", userID, map[string]any{"role": role}); err != nil {
			return err
		}
		if role == models.RoleAdmin {
			return nil
		}
		res := tx.q(ctx).Where("user_id = ? AND role = ?", userID, models.RoleAdmin).Delete(&models.APIToken{})
		if res.Error != nil {
			return fmt.Errorf("revoke admin tokens: %w", translate(res.Error))
		}
		return nil
	})
}

// SetUserDisabled disables an account at at (nil: enables it). Disabling also ends all of
// its sessions and revokes the API tokens it created, in the same transaction.
func (db *DB) SetUserDisabled(ctx context.Context, userID uint64, at *time.Time) (sessions, tokens int64, err error) {
	err = db.Tx(ctx, func(tx *DB) error {
		if err := tx.updateUser(ctx, "disable user", userID, map[string]any{"disabled_at": at}); err != nil {
			return err
		}
		if at == nil {
			return nil
		}
		var err error
		if sessions, tokens, err = tx.endAccess(ctx, userID); err != nil {
			return err
		}
		return nil
	})
	return sessions, tokens, err
}

// endAccess deletes every session and API token of an account.
func (db *DB) endAccess(ctx context.Context, userID uint64) (sessions, tokens int64, err error) {
	res := db.q(ctx).Where("user_id = ?", userID).Delete(&models.Session{})
	if res.Error != nil {
		return 0, 0, fmt.Errorf("end sessions: %w", translate(res.Error))
	}
	sessions = res.RowsAffected
	res = db.q(ctx).Where("user_id = ?", userID).Delete(&models.APIToken{})
	if res.Error != nil {
		return sessions, 0, fmt.Errorf("revoke tokens: %w", translate(res.Error))
	}
	return sessions, res.RowsAffected, nil
}

// DeleteUser removes an account with its sessions, tokens and preferences; the audit log
// keeps its entries (they name the e-mail).
func (db *DB) DeleteUser(ctx context.Context, userID uint64) (models.User, error) {
	var u models.User
	err := db.Tx(ctx, func(tx *DB) error {
		var err error
		if u, err = tx.UserByID(ctx, userID); err != nil {
			return err
		}
		if _, _, err := tx.endAccess(ctx, userID); err != nil {
			return err
		}
		if err := tx.q(ctx).Exec("DELETE FROM user_preferences WHERE user_id = ?", userID).Error; err != nil {
			return fmt.Errorf("delete preferences: %w", translate(err))
		}
		return translate(tx.q(ctx).Where("id = ?", userID).Delete(&models.User{}).Error)
	})
	return u, err
}

// TouchLogin records a successful sign-in.
func (db *DB) TouchLogin(ctx context.Context, userID uint64) error {
	return translate(db.q(ctx).Model(&models.User{}).Where("id = ?", userID).Update("last_login_at", db.now()).Error)
}

// CreateSession stores a session.
func (db *DB) CreateSession(ctx context.Context, s *models.Session) error {
	s.CreatedAt = db.now()
	if s.LastSeenAt == nil {
		at := s.CreatedAt
		s.LastSeenAt = &at
	}
	return translate(db.q(ctx).Create(s).Error)
}

// SessionWithUser returns a session that has not expired, and its user. Whether it was
// idle too long, or its user is disabled, is the caller's to judge.
func (db *DB) SessionWithUser(ctx context.Context, id string) (models.Session, models.User, error) {
	var s models.Session
	if err := db.q(ctx).Where("id = ? AND expires_at > ?", id, db.now()).Take(&s).Error; err != nil {
		return s, models.User{}, translate(err)
	}
	u, err := db.UserByID(ctx, s.UserID)
	return s, u, err
}

// TouchSession records a request of a session.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	return translate(db.q(ctx).Model(&models.Session{}).Where("id = ?", id).Update("last_seen_at", at).Error)
}

// DeleteSession signs a session out.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	return translate(db.q(ctx).Where("id = ?", id).Delete(&models.Session{}).Error)
}

// DeleteUserSessions signs an account out everywhere except the session exceptID (empty:
// everywhere).
func (db *DB) DeleteUserSessions(ctx context.Context, userID uint64, exceptID string) (int64, error) {
	res := db.q(ctx).Where("user_id = ? AND id <> ?", userID, exceptID).Delete(&models.Session{})
	return res.RowsAffected, translate(res.Error)
}

// CountUserSessions counts the live sessions of an account.
func (db *DB) CountUserSessions(ctx context.Context, userID uint64) (int64, error) {
	var n int64
	err := db.q(ctx).Model(&models.Session{}).Where("user_id = ? AND expires_at > ?", userID, db.now()).Count(&n).Error
	return n, translate(err)
}

// DeleteExpiredSessions removes sessions past their expiry.
func (db *DB) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res := db.q(ctx).Where("expires_at <= ?", db.now()).Delete(&models.Session{})
	return res.RowsAffected, translate(res.Error)
}

// DeleteIdleSessions removes sessions not seen since seenBefore.
func (db *DB) DeleteIdleSessions(ctx context.Context, seenBefore time.Time) (int64, error) {
	res := db.q(ctx).Where("last_seen_at <= ?", seenBefore).Delete(&models.Session{})
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
	err := db.q(ctx).Select("id", "name", "role", "created_by", "created_at", "last_used_at", "user_id").Order("id DESC").Find(&ts).Error
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
