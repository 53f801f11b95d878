package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/auth"
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
			lookup := h.deps.Auth.Session
			if c.Request().Header.Get("X-Coex-Poll") == "1" {
				lookup = h.deps.Auth.PassiveSession // a page polling: no sign of a person
			}
			p, err := lookup(ctx(c), ck.Value)
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
		next := c.Request().URL.RequestURI()
		if isHX(c) {
			// An HTMX request asked for a fragment: after signing in, return to the page it
			// was made from, not to the fragment.
			next = "/"
			if cur, err := url.Parse(c.Request().Header.Get("HX-Current-URL")); err == nil && cur.Path != "" {
				next = cur.RequestURI()
			}
		}
		target := "/login?next=" + url.QueryEscape(next)
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			target += "&expired=1" // a session cookie the server no longer knows
		}
		if isHX(c) {
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// passwordGate keeps a user whose password an admin reset on the change form: every other
// page sends them there until they have chosen their own.
func passwordGate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, ok := principal(c)
		if !ok || !p.MustChangePassword {
			return next(c)
		}
		switch c.Request().URL.Path {
		case "/account", "/account/password", "/logout":
			return next(c)
		}
		if isHX(c) {
			c.Response().Header().Set("HX-Redirect", "/account")
			return c.NoContent(http.StatusForbidden)
		}
		if c.Request().Method != http.MethodGet {
			return apperr.New(apperr.Forbidden, "Choose a new password first.")
		}
		return c.Redirect(http.StatusSeeOther, "/account")
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
// in; before (the sign-in form), a token that is the HMAC of the coex_csrf cookie's random
// value under the install's key, so a cookie planted by someone else is worth nothing
// without a token this server signed for it. The token is read from the X-CSRF-Token header
// or the form body, never from the URL (which ends up in logs, history and Referer).
func (h *Handlers) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		got := c.Request().Header.Get("X-CSRF-Token")
		if got == "" {
			got = c.Request().PostFormValue("_csrf") // body only: PostFormValue ignores the query
		}
		want := ""
		if p, ok := principal(c); ok {
			want = p.CSRFToken
		} else if ck, err := c.Cookie(preCSRFCookie); err == nil && len(ck.Value) >= 32 {
			want = h.signPreSession(ck.Value)
		}
		if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			return apperr.New(apperr.Forbidden, "This form has expired. Reload the page and try again.")
		}
		return next(c)
	}
}

// signPreSession is the CSRF token of the sign-in form for the cookie's random value.
func (h *Handlers) signPreSession(nonce string) string {
	m := hmac.New(sha256.New, h.deps.CSRFKey)
	m.Write([]byte("coexhistory pre-session csrf\x00"))
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// preSessionCSRF returns the sign-in form's CSRF token, setting the coex_csrf cookie (a
// random value; the token is its signature) when it is missing.
func (h *Handlers) preSessionCSRF(c echo.Context) string {
	if ck, err := c.Cookie(preCSRFCookie); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 128 {
		return h.signPreSession(ck.Value)
	}
	nonce := secrets.Token(32)
	c.SetCookie(&http.Cookie{Name: preCSRFCookie, Value: nonce, Path: "/", HttpOnly: true, Secure: h.secure(c), SameSite: http.SameSiteStrictMode})
	// Make it visible to the rest of this request too.
	c.Request().AddCookie(&http.Cookie{Name: preCSRFCookie, Value: nonce})
	return h.signPreSession(nonce)
}

// noStore keeps every answer of a route group out of browser and proxy caches: staff pages,
// fragments, API answers and exports all carry customer data.
func noStoreAll(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		noStore(c)
		return next(c)
	}
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

// secure reports whether cookies must be Secure: always when COEX_SECURE_COOKIES says so,
// and whenever the client came over HTTPS (directly or through a trusted proxy).
func (h *Handlers) secure(c echo.Context) bool {
	return h.deps.SecureCookies || h.deps.Proxies.IsHTTPS(c.Request())
}

func (h *Handlers) setSessionCookie(c echo.Context, value string) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: h.secure(c), SameSite: http.SameSiteLaxMode, MaxAge: int(auth.SessionTTL / time.Second)})
}

func (h *Handlers) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.secure(c), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
