package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/views/pages"
)

// ErrorHandler renders every error once: JSON under /api and /webhooks, a fragment for
// HTMX, a page otherwise. Only the safe message is shown; internals go to the log with the
// request id.
func (h *Handlers) ErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, safe := classify(err)
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	log := h.deps.Logger.With("request_id", reqID, "method", c.Request().Method, "path", c.Path(), "status", status)
	if status >= 500 {
		log.Error("request failed", "err", err)
	} else {
		log.Debug("request refused", "err", err)
	}
	path := c.Request().URL.Path
	var werr error
	switch {
	case hasPrefix(path, "/api/") || hasPrefix(path, "/webhooks/"):
		werr = c.JSON(status, map[string]any{"error": map[string]any{"status": status, "message": safe, "request_id": reqID}})
	case c.Request().Method == http.MethodHead:
		werr = c.NoContent(status)
	case isHX(c):
		werr = render(c, status, pages.ErrorFragment(pages.ErrorView{Status: status, Message: safe, RequestID: reqID}))
	default:
		werr = render(c, status, pages.ErrorPage(h.page(c, pages.StatusTitle(ctx(c), status, http.StatusText(status)), ""), pages.ErrorView{
			Status: status, Title: http.StatusText(status), Message: safe, RequestID: reqID,
		}))
	}
	if werr != nil {
		log.Error("render error", "err", werr)
	}
}

func classify(err error) (int, string) {
	var ae *apperr.Error
	var he *echo.HTTPError
	if !errors.As(err, &ae) && errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		switch he.Code {
		case http.StatusNotFound:
			msg = "This page does not exist."
		case http.StatusMethodNotAllowed:
			msg = "This action is not allowed here."
		case http.StatusRequestEntityTooLarge:
			msg = "The request is too large."
		}
		return he.Code, msg
	}
	e := apperr.As(err)
	switch e.Code {
	case apperr.Invalid:
		return http.StatusUnprocessableEntity, e.Safe
	case apperr.NotFound:
		return http.StatusNotFound, e.Safe
	case apperr.Conflict:
		return http.StatusConflict, e.Safe
	case apperr.Unauthorized:
		return http.StatusUnauthorized, e.Safe
	case apperr.Forbidden:
		return http.StatusForbidden, e.Safe
	case apperr.Unavailable:
		return http.StatusServiceUnavailable, e.Safe
	case apperr.Upstream:
		return http.StatusBadGateway, e.Safe
	}
	return http.StatusInternalServerError, e.Safe
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
