package handlers

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
)

const (
	sessionCookie = "coex_session"
	preCSRFCookie = "coex_csrf" // double-submit token for forms shown before sign-in
)

// loadSession puts the signed-in principal (if any) on the context.
func (h *Handlers) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			p, err := h.deps.Auth.Session(ctx(c), ck.Value)
			switch {
			case err == nil:
				c.Set(principalKey, p)
			case errors.Is(err, store.ErrNotFound):
				h.clearSessionCookie(c)
			default:
				return apperr.Wrap(apperr.Unavailable, "The database is not answering. Try again in a moment.", err)
			}
		}
		return next(c)
	}
}

// requireSession sends anonymous visitors to the sign-in page (HTMX: a full redirect).
func requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := principal(c); ok {
			return next(c)
		}
		target := "/login?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		if isHX(c) {
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// requireAdmin lets only admins through.
func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p, ok := principal(c); ok && p.IsAdmin() {
			return next(c)
		}
		return apperr.New(apperr.Forbidden, "Only admins can do this.")
	}
}

// csrf checks the token of every state-changing request: the session's token once signed
// in, the double-submit cookie before (the sign-in form).
func csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		want := ""
		if p, ok := principal(c); ok {
			want = p.CSRFToken
		} else if ck, err := c.Cookie(preCSRFCookie); err == nil {
			want = ck.Value
		}
		got := c.Request().Header.Get("X-CSRF-Token")
		if got == "" {
			got = c.FormValue("_csrf")
		}
		if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			return apperr.New(apperr.Forbidden, "This form has expired. Reload the page and try again.")
		}
		return next(c)
	}
}

// preSessionCSRF returns (and sets, when missing) the double-submit token of the sign-in form.
func preSessionCSRF(c echo.Context) string {
	if ck, err := c.Cookie(preCSRFCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	token := secrets.Token(32)
	c.SetCookie(&http.Cookie{Name: preCSRFCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	// Make it visible to the rest of this request too.
	c.Request().AddCookie(&http.Cookie{Name: preCSRFCookie, Value: token})
	return token
}

// apiAuth accepts "Authorization: Bearer <token>" and puts the principal on the context.
func (h *Handlers) apiAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		header := c.Request().Header.Get("Authorization")
		value, ok := strings.CutPrefix(header, "Bearer ")
		if !ok || value == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="coexhistory"`)
			return apperr.New(apperr.Unauthorized, "Send an API token: Authorization: Bearer <token>.")
		}
		p, err := h.deps.Auth.Token(ctx(c), strings.TrimSpace(value))
		if errors.Is(err, store.ErrNotFound) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="coexhistory", error="invalid_token"`)
			return apperr.New(apperr.Unauthorized, "This API token is not valid.")
		}
		if err != nil {
			return apperr.Wrap(apperr.Unavailable, "The database is not answering. Try again in a moment.", err)
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

func (h *Handlers) setSessionCookie(c echo.Context, value string) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: h.deps.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 12 * 3600})
}

func (h *Handlers) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.deps.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
