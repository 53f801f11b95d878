// Package handlers is coexhistory's HTTP surface: thin Echo handlers that read the request,
// call a service, and render a templ view or JSON. routes.go lists every route.
package handlers

import (
	"bytes"
	"context"

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
		Zone: v.Zone, ZoneLabel: v.ZoneLabel(h.deps.Now()), ZoneFixed: v.FromUser}
}

// flash asks the page to show a toast after an HTMX request.
func flash(c echo.Context, kind, message string, events ...string) {
	trigger := `{"flash":{"kind":` + jsonString(kind) + `,"message":` + jsonString(message) + `}`
	for _, e := range events {
		trigger += `,` + jsonString(e) + `:true`
	}
	c.Response().Header().Set("HX-Trigger", trigger+"}")
}

func ctx(c echo.Context) context.Context { return c.Request().Context() }
