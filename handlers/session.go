package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/views/pages"
)

func (h *Handlers) loginPage(c echo.Context) error {
	if _, ok := principal(c); ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render(c, http.StatusOK, pages.Login(h.page(c, "Sign in", ""), pages.LoginView{Next: safeNext(c.QueryParam("next")), Expired: c.QueryParam("expired") == "1"}))
}

func (h *Handlers) login(c echo.Context) error {
	email, password, next := c.FormValue("email"), c.FormValue("password"), safeNext(c.FormValue("next"))
	cookie, _, err := h.deps.Auth.Login(ctx(c), email, password, c.RealIP())
	if err != nil {
		e := apperr.As(err)
		if e.Code != apperr.Unauthorized && e.Code != apperr.Forbidden {
			return err
		}
		status := http.StatusUnauthorized
		if e.Code == apperr.Forbidden {
			status = http.StatusTooManyRequests
		}
		return render(c, status, pages.Login(h.page(c, "Sign in", ""), pages.LoginView{Email: email, Error: e.Safe, Next: next}))
	}
	h.setSessionCookie(c, cookie)
	return c.Redirect(http.StatusSeeOther, next)
}

func (h *Handlers) logout(c echo.Context) error {
	if p, ok := principal(c); ok {
		if err := h.deps.Auth.Logout(ctx(c), p, c.RealIP()); err != nil {
			return err
		}
	}
	h.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/login")
}

// safeNext keeps redirects after sign-in on this site: only a clean relative path is
// accepted, anything else is "/". Refused: control characters and backslashes (raw or
// percent-encoded, even encoded twice), a scheme or host after parsing, and "//" in the
// path once decoded: browsers drop tabs and newlines and read "\" as "/", so each of these
// can turn into "//other.host".
func safeNext(next string) string {
	if !cleanPath(next) {
		return "/"
	}
	return next
}

func cleanPath(next string) bool {
	if len(next) == 0 || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "/login") {
		return false
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return false
	}
	// Decode until nothing changes (bounded): "%252F%252F" is "//" to a server that decodes
	// twice.
	s := next
	for i := 0; i < 4; i++ {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' || unicode.IsControl(r) }) {
			return false
		}
		path, _, _ := strings.Cut(s, "?")
		path, _, _ = strings.Cut(path, "#")
		if strings.Contains(path, "//") || strings.HasPrefix(path, "/login") {
			return false
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return false
		}
		if d == s {
			return true
		}
		s = d
	}
	return false
}

func (h *Handlers) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyWriteTimeout bounds the write of a readiness check: a write that waits longer (a
// stuck disk, a lock) counts as failed.
const readyWriteTimeout = 3 * time.Second

func (h *Handlers) readyz(c echo.Context) error {
	if err := h.deps.Health.Ping(ctx(c)); err != nil {
		return h.notReady(c, "database unreachable", err)
	}
	if err := h.deps.Health.CheckSchema(ctx(c)); err != nil {
		return h.notReady(c, schemaReason(err), err)
	}
	// Ready means webhooks can be stored: a read-only server, missing grants or a full disk
	// fail here, not on Meta's next delivery.
	wctx, cancel := context.WithTimeout(ctx(c), readyWriteTimeout)
	defer cancel()
	if err := h.deps.Health.CheckWrite(wctx, h.deps.Instance); err != nil {
		return h.notReady(c, "database cannot take a write", err)
	}
	h.isReady()
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
