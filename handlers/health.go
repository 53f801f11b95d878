package handlers

import (
	"context"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/i18n"
	"coexhistory/internal/store"
	"coexhistory/views/pages"
)

// WebhookHealth sums up the webhook inbox per number.
type WebhookHealth interface {
	WebhookHealthByNumber(ctx context.Context) (map[string]store.WebhookHealth, error)
}

// healthPage is the admins' overview: every number with its sync state, last webhook,
// failures and backlog.
func (h *Handlers) healthPage(c echo.Context) error {
	rows, err := h.numberRows(c)
	if err != nil {
		return err
	}
	byNumber, err := h.deps.WebhookHealth.WebhookHealthByNumber(ctx(c))
	if err != nil {
		return err
	}
	v := pages.HealthView{Now: h.deps.Now().UTC()}
	seen := map[string]bool{}
	for _, r := range rows {
		w := byNumber[r.PhoneNumberID]
		seen[r.PhoneNumberID] = true
		v.Rows = append(v.Rows, pages.HealthRow{Number: r, LastWebhook: w.LastAt, Failed: w.Failed, Backlog: w.Backlog, LastError: w.LastError, LastErrorAt: w.LastErrorAt})
	}
	var unknown []string
	for pnid, w := range byNumber {
		switch {
		case pnid == "":
			v.Unmatched += w.Backlog
		case !seen[pnid]:
			unknown = append(unknown, pnid)
		}
	}
	sort.Strings(unknown)
	for _, pnid := range unknown {
		w := byNumber[pnid]
		v.Rows = append(v.Rows, pages.HealthRow{Number: pages.NumberRow{PhoneNumberID: pnid}, LastWebhook: w.LastAt, Failed: w.Failed,
			Backlog: w.Backlog, LastError: w.LastError, LastErrorAt: w.LastErrorAt})
	}
	return render(c, http.StatusOK, pages.Health(h.page(c, i18n.T(ctx(c), "nav.health"), "health"), v))
}
