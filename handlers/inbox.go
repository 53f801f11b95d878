package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/i18n"
	"coexhistory/internal/store"
	"coexhistory/models"
	"coexhistory/views/pages"
)

// InboxAdmin lists and requeues received webhooks.
type InboxAdmin interface {
	ListInbox(ctx context.Context, f store.InboxFilter) ([]models.InboxItem, error)
	GetInbox(ctx context.Context, id uint64) (models.InboxItem, error)
	RequeueInbox(ctx context.Context, id uint64) error
	InboxCounts(ctx context.Context) (map[string]int, error)
}

func inboxRow(it models.InboxItem) pages.InboxRow {
	return pages.InboxRow{ID: it.ID, ReceivedAt: it.ReceivedAt, Source: it.Source, Field: it.Field, PhoneNumberID: it.PhoneNumberID,
		Size: it.Size, State: it.State, Attempts: it.Attempts, Error: it.Error, Purged: it.BodyPurgedAt != nil}
}

func (h *Handlers) inboxPage(c echo.Context) error {
	before, _ := strconv.ParseUint(c.QueryParam("before"), 10, 64)
	const pageSize = 50
	f := store.InboxFilter{State: c.QueryParam("state"), Field: c.QueryParam("field"), BeforeID: before, Limit: pageSize}
	items, err := h.deps.InboxAdmin.ListInbox(ctx(c), f)
	if err != nil {
		return err
	}
	p := h.page(c, i18n.T(ctx(c), "nav.inbox"), "inbox")
	v := pages.InboxView{State: f.State, Field: f.Field, CSRFToken: p.CSRFToken}
	for _, it := range items {
		v.Rows = append(v.Rows, inboxRow(it))
	}
	if len(items) == pageSize {
		v.NextBefore = items[len(items)-1].ID
	}
	varyHX(c)
	if isHX(c) && before > 0 {
		return render(c, http.StatusOK, pages.InboxRows(v))
	}
	if v.Counts, err = h.deps.InboxAdmin.InboxCounts(ctx(c)); err != nil {
		return err
	}
	return render(c, http.StatusOK, pages.Inbox(p, v))
}

func (h *Handlers) inboxItem(c echo.Context) (models.InboxItem, error) {
	id, err := idParam(c)
	if err != nil {
		return models.InboxItem{}, err
	}
	it, err := h.deps.InboxAdmin.GetInbox(ctx(c), id)
	if errors.Is(err, store.ErrNotFound) {
		return it, apperr.New(apperr.NotFound, "This webhook does not exist.")
	}
	return it, err
}

func (h *Handlers) inboxItemPage(c echo.Context) error {
	it, err := h.inboxItem(c)
	if err != nil {
		return err
	}
	pretty := string(it.Body)
	var buf bytes.Buffer
	if json.Indent(&buf, it.Body, "", "  ") == nil {
		pretty = buf.String()
	}
	p := h.page(c, i18n.T(ctx(c), "inbox.pageTitle"), "inbox")
	return render(c, http.StatusOK, pages.InboxItem(p, pages.InboxItemView{Row: inboxRow(it), Pretty: pretty, CSRFToken: p.CSRFToken}))
}

func (h *Handlers) reprocessInbox(c echo.Context) error {
	it, err := h.inboxItem(c)
	if err != nil {
		return err
	}
	if it.BodyPurgedAt != nil {
		return apperr.New(apperr.Conflict, "This webhook's body was removed by retention (COEX_INBOX_RETENTION): there is nothing to reprocess.")
	}
	if err := h.deps.InboxAdmin.RequeueInbox(ctx(c), it.ID); err != nil {
		return err
	}
	if h.deps.WakeIngest != nil {
		h.deps.WakeIngest()
	}
	pr, _ := principal(c)
	_ = h.deps.Admin.Audit(ctx(c), models.AuditEntry{Actor: pr.Name, Action: "inbox.reprocess", Target: strconv.FormatUint(it.ID, 10), RemoteIP: c.RealIP()})
	it.State, it.Error = models.InboxPending, ""
	flash(c, "success", i18n.T(ctx(c), "inbox.queued"))
	return render(c, http.StatusOK, pages.InboxRowView(inboxRow(it), pr.CSRFToken))
}
