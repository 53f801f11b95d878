package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/i18n"
	"coexhistory/views/pages"
)

// The signed-in user's own password and sessions.

func (h *Handlers) accountView(c echo.Context) pages.AccountView {
	p, _ := principal(c)
	return pages.AccountView{CSRFToken: p.CSRFToken, Email: p.Name, MustChange: p.MustChangePassword}
}

func (h *Handlers) accountPage(c echo.Context) error {
	return render(c, http.StatusOK, pages.Account(h.page(c, i18n.T(ctx(c), "account.title"), ""), h.accountView(c)))
}

func (h *Handlers) changePassword(c echo.Context) error {
	p, _ := principal(c)
	r := c.Request()
	err := h.deps.Auth.ChangePassword(ctx(c), p, r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm"), c.RealIP())
	v := h.accountView(c)
	if err != nil {
		e := apperr.As(err)
		if e.Code != apperr.Invalid && e.Code != apperr.Forbidden {
			return err
		}
		v.Form = pages.SimpleForm{Errors: e.Fields, Message: e.Safe}
		if v.Form.Errors == nil {
			v.Form.Errors = map[string]string{}
		}
		if !isHX(c) {
			return render(c, http.StatusUnprocessableEntity, pages.Account(h.page(c, i18n.T(ctx(c), "account.title"), ""), v))
		}
		return render(c, http.StatusUnprocessableEntity, pages.PasswordForm(v))
	}
	if p.MustChangePassword {
		// The reset is done: on to the pages.
		if isHX(c) {
			c.Response().Header().Set("HX-Redirect", "/")
			return c.NoContent(http.StatusOK)
		}
		return c.Redirect(http.StatusSeeOther, "/")
	}
	v.Form = pages.SimpleForm{Message: i18n.T(ctx(c), "account.changed")}
	if isHX(c) {
		return render(c, http.StatusOK, pages.PasswordForm(v))
	}
	return render(c, http.StatusOK, pages.Account(h.page(c, i18n.T(ctx(c), "account.title"), ""), v))
}

func (h *Handlers) signOutEverywhere(c echo.Context) error {
	p, _ := principal(c)
	if err := h.deps.Auth.SignOutEverywhere(ctx(c), p, c.RealIP()); err != nil {
		return err
	}
	h.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/login")
}
