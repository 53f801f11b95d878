package handlers

import (
	"errors"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/store"
)

// readyLog logs readiness once per change instead of once per probe (a load balancer asks
// every few seconds): a WARN naming the cause and its database error code when the instance
// stops being ready or the cause changes, an INFO when it is ready again.
type readyLog struct {
	mu   sync.Mutex
	last string // the reason of the last failed check; "" while ready
}

// notReady answers 503 with reason and, when the database said why, its condition (e.g.
// "database not ready: error 1047 node not prepared …").
func (h *Handlers) notReady(c echo.Context, reason string, err error) error {
	code := store.ErrorCode(err)
	if code != 0 {
		reason += ": " + store.DescribeError(err)
	}
	h.ready.mu.Lock()
	changed := h.ready.last != reason
	h.ready.last = reason
	h.ready.mu.Unlock()
	if changed {
		h.deps.Logger.Warn("readiness: not ready", "reason", reason, "code", code, "err", err)
	}
	return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
}

func (h *Handlers) isReady() {
	h.ready.mu.Lock()
	was := h.ready.last
	h.ready.last = ""
	h.ready.mu.Unlock()
	if was != "" {
		h.deps.Logger.Info("readiness: ready again", "was", was)
	}
}

// schemaReason tells an outdated schema from a database that could not be asked.
func schemaReason(err error) string {
	if errors.As(err, new(*store.ErrSchemaOutdated)) {
		return "database schema outdated"
	}
	return "database not ready"
}
