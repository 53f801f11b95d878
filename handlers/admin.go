package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/auth"
	"coexhistory/internal/i18n"
	"coexhistory/internal/store"
	"coexhistory/models"
	"coexhistory/views/pages"
)

// auditActions are the actions the audit filter offers.
var auditActions = []string{"login", "login.failed", "login.throttled", "logout", "logout.everywhere", "password.change",
	"number.create", "number.update", "number.delete", "sync.request", "sync.response", "sync.state", "token.create", "token.revoke",
	"user.create", "user.disable", "user.enable", "user.delete", "user.role", "user.reset_password", "user.sign_out",
	"inbox.reprocess", "thread.export"}

func (h *Handlers) auditPage(c echo.Context) error {
	before, _ := strconv.ParseUint(c.QueryParam("before"), 10, 64)
	const pageSize = 100
	entries, err := h.deps.Admin.ListAudit(ctx(c), store.AuditFilter{Action: c.QueryParam("action"), BeforeID: before, Limit: pageSize})
	if err != nil {
		return err
	}
	v := pages.AuditView{Action: c.QueryParam("action"), Actions: auditActions}
	for _, e := range entries {
		v.Rows = append(v.Rows, pages.AuditRow{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail, RemoteIP: e.RemoteIP})
	}
	if len(entries) == pageSize {
		v.NextBefore = entries[len(entries)-1].ID
	}
	varyHX(c)
	if isHX(c) && before > 0 {
		return render(c, http.StatusOK, pages.AuditRows(v))
	}
	return render(c, http.StatusOK, pages.Audit(h.page(c, i18n.T(ctx(c), "nav.audit"), "audit"), v))
}

func (h *Handlers) usersView(c echo.Context) (pages.UsersView, error) {
	users, err := h.deps.Admin.ListUsers(ctx(c))
	if err != nil {
		return pages.UsersView{}, err
	}
	tokens, err := h.deps.Admin.ListAPITokens(ctx(c))
	if err != nil {
		return pages.UsersView{}, err
	}
	p, _ := principal(c)
	v := pages.UsersView{CSRFToken: p.CSRFToken,
		UserForm:  pages.SimpleForm{Values: map[string]string{"role": models.RoleAgent}},
		TokenForm: pages.SimpleForm{Values: map[string]string{"role": models.RoleAgent}}}
	for _, u := range users {
		v.Users = append(v.Users, pages.UserRow{ID: u.ID, Email: u.Email, Role: u.Role, CreatedAt: u.CreatedAt, LastLoginAt: u.LastLoginAt,
			Disabled: u.DisabledAt != nil, MustChange: u.MustChangePassword, IsSelf: u.ID == p.UserID})
	}
	for _, t := range tokens {
		v.Tokens = append(v.Tokens, pages.TokenRow{ID: t.ID, Name: t.Name, Role: t.Role, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt})
	}
	return v, nil
}

func (h *Handlers) usersPage(c echo.Context) error {
	v, err := h.usersView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.Users(h.page(c, i18n.T(ctx(c), "nav.users"), "users"), v))
}

func (h *Handlers) createUser(c echo.Context) error {
	p, _ := principal(c)
	email, role := c.FormValue("email"), c.FormValue("role")
	u, err := h.deps.Auth.CreateUser(ctx(c), email, c.FormValue("password"), role)
	if err != nil {
		e := apperr.As(err)
		if e.Code != apperr.Invalid {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, pages.UserForm(p.CSRFToken, pages.SimpleForm{
			Values: map[string]string{"email": email, "role": role}, Errors: e.Fields, Message: e.Safe}))
	}
	_ = h.deps.Admin.Audit(ctx(c), models.AuditEntry{Actor: p.Name, Action: "user.create", Target: u.Email, Detail: "role=" + u.Role, RemoteIP: c.RealIP()})
	if isHX(c) {
		c.Response().Header().Set("HX-Redirect", "/admin/users")
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users")
}

func (h *Handlers) createToken(c echo.Context) error {
	p, _ := principal(c)
	name, role := c.FormValue("name"), c.FormValue("role")
	value, t, err := h.deps.Auth.CreateTokenFor(ctx(c), p, name, role)
	v, verr := h.usersView(c)
	if verr != nil {
		return verr
	}
	if err != nil {
		e := apperr.As(err)
		if e.Code != apperr.Invalid {
			return err
		}
		v.TokenForm = pages.SimpleForm{Values: map[string]string{"name": name, "role": role}, Errors: e.Fields, Message: e.Safe}
		return render(c, http.StatusUnprocessableEntity, pages.Tokens(v))
	}
	_ = h.deps.Admin.Audit(ctx(c), models.AuditEntry{Actor: p.Name, Action: "token.create", Target: t.Name, Detail: "role=" + t.Role, RemoteIP: c.RealIP()})
	v.NewToken = value
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, pages.Tokens(v))
}

func (h *Handlers) revokeToken(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	t, err := h.deps.Admin.DeleteAPIToken(ctx(c), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return apperr.New(apperr.NotFound, "This token does not exist (any more).")
		}
		return err
	}
	p, _ := principal(c)
	_ = h.deps.Admin.Audit(ctx(c), models.AuditEntry{Actor: p.Name, Action: "token.revoke", Target: t.Name, RemoteIP: c.RealIP()})
	v, err := h.usersView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.Tokens(v))
}

// userAction runs one account action of an admin and answers with the account list again,
// saying what happened (errors: a toast, as for every refused action).
func (h *Handlers) userAction(do func(c echo.Context, a auth.Actor, id uint64) (notice string, err error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := idParam(c)
		if err != nil {
			return err
		}
		p, _ := principal(c)
		notice, err := do(c, auth.ActorOf(p, c.RealIP()), id)
		if err != nil {
			return err
		}
		v, err := h.usersView(c)
		if err != nil {
			return err
		}
		v.Notice = notice
		return h.renderUsers(c, v)
	}
}

func (h *Handlers) renderUsers(c echo.Context, v pages.UsersView) error {
	if isHX(c) {
		return render(c, http.StatusOK, pages.UserList(v))
	}
	return render(c, http.StatusOK, pages.Users(h.page(c, i18n.T(ctx(c), "nav.users"), "users"), v))
}

func (h *Handlers) disableUser(c echo.Context, a auth.Actor, id uint64) (string, error) {
	u, err := h.deps.Auth.DisableUser(ctx(c), a, id)
	return i18n.T(ctx(c), "users.disabledNotice", map[string]any{"Email": u.Email}), err
}

func (h *Handlers) enableUser(c echo.Context, a auth.Actor, id uint64) (string, error) {
	u, err := h.deps.Auth.EnableUser(ctx(c), a, id)
	return i18n.T(ctx(c), "users.enabledNotice", map[string]any{"Email": u.Email}), err
}

func (h *Handlers) deleteUser(c echo.Context, a auth.Actor, id uint64) (string, error) {
	u, err := h.deps.Auth.DeleteUser(ctx(c), a, id)
	return i18n.T(ctx(c), "users.deletedNotice", map[string]any{"Email": u.Email}), err
}

func (h *Handlers) endUserSessions(c echo.Context, a auth.Actor, id uint64) (string, error) {
	n, err := h.deps.Auth.EndSessions(ctx(c), a, id)
	return i18n.NPlain(ctx(c), "users.sessionsEnded", int64(n)), err
}

func (h *Handlers) setUserRole(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	p, _ := principal(c)
	u, err := h.deps.Auth.SetRole(ctx(c), auth.ActorOf(p, c.RealIP()), id, c.Request().PostFormValue("role"))
	v, verr := h.usersView(c)
	if verr != nil {
		return verr
	}
	if err != nil {
		e := apperr.As(err)
		if e.Code != apperr.Invalid {
			return err
		}
		v.Error = e.Safe
		if f := e.Fields["role"]; f != "" {
			v.Error = f
		}
		if !isHX(c) {
			return render(c, http.StatusUnprocessableEntity, pages.Users(h.page(c, i18n.T(ctx(c), "nav.users"), "users"), v))
		}
		return render(c, http.StatusUnprocessableEntity, pages.UserList(v))
	}
	v.Notice = i18n.T(ctx(c), "users.roleNotice", map[string]any{"Email": u.Email, "Role": pages.RoleLabel(ctx(c), u.Role)})
	return h.renderUsers(c, v)
}

func (h *Handlers) resetUserPassword(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	p, _ := principal(c)
	temp, u, err := h.deps.Auth.AdminResetPassword(ctx(c), auth.ActorOf(p, c.RealIP()), id)
	if err != nil {
		return err
	}
	v, err := h.usersView(c)
	if err != nil {
		return err
	}
	v.TempPassword, v.TempFor = temp, u.Email
	return h.renderUsers(c, v)
}
