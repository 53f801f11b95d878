package auth

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"coexhistory/internal/apperr"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// Actor is who changes an account, for the checks and the audit log: a signed-in admin, or
// the CLI (UserID 0, Name "cli").
type Actor struct {
	UserID   uint64
	Name     string
	RemoteIP string
}

// CLI is the actor of the command line.
var CLI = Actor{Name: "cli"}

// ActorOf is the signed-in principal p acting from remoteIP.
func ActorOf(p Principal, remoteIP string) Actor {
	return Actor{UserID: p.UserID, Name: p.Name, RemoteIP: remoteIP}
}

func (s *Service) audit(ctx context.Context, a Actor, action, target, detail string) {
	_ = s.store.Audit(ctx, models.AuditEntry{Actor: a.Name, Action: action, Target: target, Detail: detail, RemoteIP: a.RemoteIP})
}

var errNoUser = apperr.New(apperr.NotFound, "This account does not exist (any more).")

func (s *Service) user(ctx context.Context, id uint64) (models.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return u, errNoUser
	}
	return u, err
}

// UserByEmail finds an account by an address as typed (normalised first).
func (s *Service) UserByEmail(ctx context.Context, email string) (models.User, error) {
	u, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
	if errors.Is(err, store.ErrNotFound) {
		return u, errNoUser
	}
	return u, err
}

// ListUsers lists the accounts.
func (s *Service) ListUsers(ctx context.Context) ([]models.User, error) {
	return s.store.ListUsers(ctx)
}

// keepsAnAdmin refuses a change that would leave no active admin: u is an active admin
// about to stop being one.
func (s *Service) keepsAnAdmin(ctx context.Context, u models.User) error {
	if u.Role != models.RoleAdmin || u.DisabledAt != nil {
		return nil
	}
	n, err := s.store.CountActiveAdmins(ctx)
	if err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if n <= 1 {
		return apperr.New(apperr.Conflict, "This is the last active admin: make another account admin first.")
	}
	return nil
}

// notSelf refuses an action on the actor's own account with refusal, a whole sentence (so
// the pages can show it in the reader's language).
func notSelf(a Actor, u models.User, refusal string) error {
	if a.UserID != 0 && a.UserID == u.ID {
		return apperr.New(apperr.Conflict, refusal)
	}
	return nil
}

// DisableUser disables an account: it can no longer sign in, and its sessions and the API
// tokens it created end at once.
func (s *Service) DisableUser(ctx context.Context, a Actor, id uint64) (models.User, error) {
	u, err := s.user(ctx, id)
	if err != nil {
		return u, err
	}
	if err := notSelf(a, u, "You cannot disable your own account."); err != nil {
		return u, err
	}
	if u.DisabledAt != nil {
		return u, nil
	}
	if err := s.keepsAnAdmin(ctx, u); err != nil {
		return u, err
	}
	now := s.now().UTC()
	sessions, tokens, err := s.store.SetUserDisabled(ctx, id, &now)
	if err != nil {
		return u, fmt.Errorf("disable user: %w", err)
	}
	u.DisabledAt = &now
	s.audit(ctx, a, "user.disable", u.Email, fmt.Sprintf("ended %d sessions, revoked %d tokens", sessions, tokens))
	return u, nil
}

// EnableUser lets a disabled account sign in again.
func (s *Service) EnableUser(ctx context.Context, a Actor, id uint64) (models.User, error) {
	u, err := s.user(ctx, id)
	if err != nil || u.DisabledAt == nil {
		return u, err
	}
	if _, _, err := s.store.SetUserDisabled(ctx, id, nil); err != nil {
		return u, fmt.Errorf("enable user: %w", err)
	}
	u.DisabledAt = nil
	s.audit(ctx, a, "user.enable", u.Email, "")
	return u, nil
}

// DeleteUser removes an account, its sessions and its tokens. The audit log keeps what it
// did.
func (s *Service) DeleteUser(ctx context.Context, a Actor, id uint64) (models.User, error) {
	u, err := s.user(ctx, id)
	if err != nil {
		return u, err
	}
	if err := notSelf(a, u, "You cannot delete your own account."); err != nil {
		return u, err
	}
	if err := s.keepsAnAdmin(ctx, u); err != nil {
		return u, err
	}
	if _, err := s.store.DeleteUser(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return u, errNoUser
		}
		return u, fmt.Errorf("delete user: %w", err)
	}
	s.audit(ctx, a, "user.delete", u.Email, "role="+u.Role)
	return u, nil
}

// SetRole changes an account's role; it applies to its open sessions at their next request.
func (s *Service) SetRole(ctx context.Context, a Actor, id uint64, role string) (models.User, error) {
	if !ValidRole(role) {
		return models.User{}, apperr.InvalidFields(map[string]string{"role": "Choose admin or agent."})
	}
	u, err := s.user(ctx, id)
	if err != nil || u.Role == role {
		return u, err
	}
	if role != models.RoleAdmin {
		if err := notSelf(a, u, "You cannot demote your own account."); err != nil {
			return u, err
		}
		if err := s.keepsAnAdmin(ctx, u); err != nil {
			return u, err
		}
	}
	if err := s.store.SetUserRole(ctx, id, role); err != nil {
		return u, fmt.Errorf("set role: %w", err)
	}
	s.audit(ctx, a, "user.role", u.Email, u.Role+" → "+role)
	u.Role = role
	return u, nil
}

// ResetPassword gives an account a new random password, returned once to show to the
// admin, which the user must change at the next sign-in. Its sessions end.
func (s *Service) AdminResetPassword(ctx context.Context, a Actor, id uint64) (string, models.User, error) {
	u, err := s.user(ctx, id)
	if err != nil {
		return "", u, err
	}
	temp := secrets.Token(12) // 16 URL-safe characters, 96 random bits
	hash, err := bcrypt.GenerateFromPassword([]byte(temp), s.cost)
	if err != nil {
		return "", u, fmt.Errorf("hash password: %w", err)
	}
	if err := s.store.SetPasswordHash(ctx, id, string(hash), true); err != nil {
		return "", u, fmt.Errorf("reset password: %w", err)
	}
	n, err := s.store.DeleteUserSessions(ctx, id, "")
	if err != nil {
		return "", u, fmt.Errorf("end sessions: %w", err)
	}
	u.MustChangePassword = true
	s.audit(ctx, a, "user.reset_password", u.Email, fmt.Sprintf("ended %d sessions", n))
	return temp, u, nil
}

// EndSessions signs an account out everywhere.
func (s *Service) EndSessions(ctx context.Context, a Actor, id uint64) (int64, error) {
	u, err := s.user(ctx, id)
	if err != nil {
		return 0, err
	}
	n, err := s.store.DeleteUserSessions(ctx, id, "")
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	s.audit(ctx, a, "user.sign_out", u.Email, fmt.Sprintf("ended %d sessions", n))
	return n, nil
}

// ChangePassword changes the signed-in user's own password after checking the current
// one, and ends their other sessions. Wrong current passwords count like failed sign-ins.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next, confirm, remoteIP string) error {
	u, err := s.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	keys := keysFor(u.ID, u.EmailNorm, remoteIP)
	ok, _, err := s.allowed(ctx, keys)
	if err != nil {
		return fmt.Errorf("sign-in throttle: %w", err)
	}
	if !ok {
		return ErrTooManyAttempts
	}
	fields := map[string]string{}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
		if err := s.failed(ctx, keys); err != nil {
			return fmt.Errorf("sign-in throttle: %w", err)
		}
		fields["current"] = "This is not your current password."
	}
	if pp := passwordProblem(next); pp != "" {
		fields["new"] = pp
	} else if next == current {
		fields["new"] = "Choose a password different from the current one."
	}
	if confirm != next {
		fields["confirm"] = "The two new passwords differ."
	}
	if len(fields) > 0 {
		return apperr.InvalidFields(fields)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), s.cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, string(hash), false); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	n, err := s.store.DeleteUserSessions(ctx, u.ID, p.SessionID)
	if err != nil {
		return fmt.Errorf("end other sessions: %w", err)
	}
	s.audit(ctx, ActorOf(p, remoteIP), "password.change", u.Email, fmt.Sprintf("ended %d other sessions", n))
	return nil
}

// SignOutEverywhere ends every session of the signed-in user, this one included.
func (s *Service) SignOutEverywhere(ctx context.Context, p Principal, remoteIP string) error {
	n, err := s.store.DeleteUserSessions(ctx, p.UserID, "")
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	s.audit(ctx, ActorOf(p, remoteIP), "logout.everywhere", p.Name, fmt.Sprintf("ended %d sessions", n))
	return nil
}
