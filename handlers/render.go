// Package handlers is coexhistory's HTTP surface: thin Echo handlers that read the request,
// call a service, and render a templ view or JSON. routes.go lists every route.
package handlers

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"coexhistory/internal/auth"
	"coexhistory/internal/viewer"
	"coexhistory/views/layout"
)

// render buffers a component, then writes it with status, so a failing render never sends
// half a page.
func render(c echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// isHX reports whether the request comes from HTMX (and so wants a fragment).
func isHX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Boosted") != "true"
}

// varyHX marks a response that differs by HX-Request, for caches.
func varyHX(c echo.Context) { c.Response().Header().Add("Vary", "HX-Request") }

const principalKey = "coex.principal"

// principal returns who is signed in; ok is false on public routes.
func principal(c echo.Context) (auth.Principal, bool) {
	p, ok := c.Get(principalKey).(auth.Principal)
	return p, ok
}

// page builds the layout model of a full page.
func (h *Handlers) page(c echo.Context, title, section string) layout.Page {
	p, _ := principal(c)
	csrf := p.CSRFToken
	if csrf == "" {
		csrf = h.preSessionCSRF(c)
	}
	v := viewer.From(ctx(c))
	return layout.Page{Title: title, Section: section, User: p.Name, IsAdmin: p.IsAdmin(), CSRFToken: csrf, Asset: h.deps.Asset,
		Zone: v.Zone, ZoneLabel: v.ZoneLabel(h.deps.Now()), ZoneFixed: v.FromUser, Lang: v.Lang}
}

// flash asks the page to show a toast after an HTMX request. Header values travel as
// Latin-1, so the JSON is ASCII-only: every other character is a \u escape.
func flash(c echo.Context, kind, message string, events ...string) {
	trigger := `{"flash":{"kind":` + asciiJSONString(kind) + `,"message":` + asciiJSONString(message) + `}`
	for _, e := range events {
		trigger += `,` + asciiJSONString(e) + `:true`
	}
	c.Response().Header().Set("HX-Trigger", trigger+"}")
}

func ctx(c echo.Context) context.Context { return c.Request().Context() }

// asciiJSONString is s as a JSON string with every non-ASCII character escaped (characters
// outside the BMP as a surrogate pair), safe in an HTTP header.
func asciiJSONString(s string) string {
	var b strings.Builder
	for _, r := range jsonString(s) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, "\\u%04x\\u%04x", r1, r2)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

// faviconSVG is the tab icon: a speech bubble in the accent colour.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path fill="#0b7a5f" d="M16 3C8.8 3 3 8.2 3 14.6c0 3.4 1.6 6.4 4.2 8.5L6 29l6.2-3.3c1.2.3 2.5.5 3.8.5 7.2 0 13-5.2 13-11.6S23.2 3 16 3z"/></svg>`

// favicon answers browsers that ask for /favicon.ico whatever the page links.
func favicon(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/svg+xml", []byte(faviconSVG))
}
