package handlers

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/coex"
	"coexhistory/internal/i18n"
	"coexhistory/internal/registry"
	"coexhistory/models"
	"coexhistory/views/pages"
)

func actor(c echo.Context) registry.Actor {
	p, _ := principal(c)
	return registry.Actor{Name: p.Name, RemoteIP: c.RealIP()}
}

func idParam(c echo.Context) (uint64, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, apperr.New(apperr.NotFound, "This page does not exist.")
	}
	return id, nil
}

// numberFromPath returns the number whose id is in the path.
func (h *Handlers) numberFromPath(c echo.Context) (models.BusinessNumber, error) {
	id, err := idParam(c)
	if err != nil {
		return models.BusinessNumber{}, err
	}
	return h.deps.Numbers.Get(ctx(c), id)
}

// numberRows joins numbers with their counts and sync state.
func (h *Handlers) numberRows(c echo.Context) ([]pages.NumberRow, error) {
	ns, err := h.deps.Numbers.List(ctx(c))
	if err != nil {
		return nil, err
	}
	counts, err := h.deps.Overview.CountsByNumber(ctx(c))
	if err != nil {
		return nil, fmt.Errorf("count threads: %w", err)
	}
	runs, err := h.deps.Overview.SyncRuns(ctx(c))
	if err != nil {
		return nil, fmt.Errorf("read sync runs: %w", err)
	}
	rows := make([]pages.NumberRow, 0, len(ns))
	for _, n := range ns {
		st := h.syncStatus(n, runs[n.PhoneNumberID])
		cnt := counts[n.PhoneNumberID]
		rows = append(rows, pages.NumberRow{
			ID: n.ID, Label: n.Label, DisplayPhoneNumber: n.DisplayPhoneNumber, PhoneNumberID: n.PhoneNumberID,
			Provider: n.Provider, AccountState: n.AccountState, OnboardedAt: n.OnboardedAt,
			Sync:     syncBadge(ctx(c), n.ID, st),
			Messages: cnt.Messages, Threads: cnt.Threads, LastActivity: cnt.LastMessageAt,
		})
	}
	return rows, nil
}

// home is the landing page: the conversations for agents, the numbers for admins (who
// bring the history in).
func (h *Handlers) home(c echo.Context) error {
	if p, ok := principal(c); ok && !p.IsAdmin() {
		return h.conversationsPage(c)
	}
	return h.numbersPage(c)
}

func (h *Handlers) numbersPage(c echo.Context) error {
	rows, err := h.numberRows(c)
	if err != nil {
		return err
	}
	p := h.page(c, i18n.T(ctx(c), "numbers.pageTitle"), "numbers")
	v := pages.NumbersView{Rows: rows, IsAdmin: p.IsAdmin, Form: pages.NumberFormView{CSRFToken: p.CSRFToken, Values: map[string]string{"provider": models.ProviderMeta}}}
	if c.QueryParam("saved") == "1" {
		v.Flash = i18n.T(ctx(c), "numbers.saved")
	}
	return render(c, http.StatusOK, pages.Numbers(p, v))
}

func (h *Handlers) numbersTable(c echo.Context) error {
	rows, err := h.numberRows(c)
	if err != nil {
		return err
	}
	p, _ := principal(c)
	return render(c, http.StatusOK, pages.NumbersTable(pages.NumbersView{Rows: rows, IsAdmin: p.IsAdmin()}))
}

func formInput(c echo.Context) registry.Input {
	return registry.Input{
		Label: c.FormValue("label"), DisplayPhoneNumber: c.FormValue("display_phone_number"),
		PhoneNumberID: c.FormValue("phone_number_id"), WABAID: c.FormValue("waba_id"),
		Provider: c.FormValue("provider"), ProviderNumberID: c.FormValue("provider_number_id"),
		AccessToken: c.FormValue("access_token"), OnboardedAt: c.FormValue("onboarded_at"),
	}
}

// formValues echoes what was typed back into the form, never the access token.
func formValues(in registry.Input) map[string]string {
	return map[string]string{
		"label": in.Label, "display_phone_number": in.DisplayPhoneNumber, "phone_number_id": in.PhoneNumberID,
		"waba_id": in.WABAID, "provider": in.Provider, "provider_number_id": in.ProviderNumberID, "onboarded_at": in.OnboardedAt,
	}
}

func numberValues(n models.BusinessNumber) map[string]string {
	v := formValues(registry.Input{Label: n.Label, DisplayPhoneNumber: n.DisplayPhoneNumber, PhoneNumberID: n.PhoneNumberID,
		WABAID: n.WABAID, Provider: n.Provider, ProviderNumberID: n.ProviderNumberID})
	if n.OnboardedAt != nil {
		v["onboarded_at"] = n.OnboardedAt.UTC().Format("2006-01-02T15:04")
	}
	return v
}

// saveNumber handles add (id 0) and edit from the form: a fragment for HTMX (422 with
// inline errors), a redirect or full page without it.
func (h *Handlers) saveNumber(c echo.Context, id uint64) error {
	in := formInput(c)
	var err error
	if id == 0 {
		_, err = h.deps.Numbers.Create(ctx(c), actor(c), in)
	} else {
		_, err = h.deps.Numbers.Update(ctx(c), actor(c), id, in)
	}
	p := h.page(c, i18n.T(ctx(c), "numbers.pageTitle"), "numbers")
	form := pages.NumberFormView{ID: id, CSRFToken: p.CSRFToken, Values: formValues(in)}
	if err != nil {
		e := apperr.As(err)
		if e.Code != apperr.Invalid {
			return err
		}
		form.Errors, form.Message = e.Fields, e.Safe
		if isHX(c) {
			return render(c, http.StatusUnprocessableEntity, pages.NumberForm(form))
		}
		if id == 0 {
			rows, rerr := h.numberRows(c)
			if rerr != nil {
				return rerr
			}
			return render(c, http.StatusUnprocessableEntity, pages.Numbers(p, pages.NumbersView{Rows: rows, IsAdmin: true, Form: form}))
		}
		return render(c, http.StatusUnprocessableEntity, pages.NumberEdit(p, pages.NumberEditView{Label: in.Label, Form: form}))
	}
	if !isHX(c) || id != 0 {
		if isHX(c) {
			c.Response().Header().Set("HX-Redirect", "/?saved=1")
			return c.NoContent(http.StatusOK)
		}
		return c.Redirect(http.StatusSeeOther, "/?saved=1")
	}
	flash(c, "success", i18n.T(ctx(c), "numbers.added", map[string]any{"Label": in.Label}), "numbersChanged")
	blank := pages.NumberFormView{CSRFToken: p.CSRFToken, Values: map[string]string{"provider": models.ProviderMeta}}
	return render(c, http.StatusOK, pages.NumberForm(blank))
}

func (h *Handlers) createNumber(c echo.Context) error { return h.saveNumber(c, 0) }

func (h *Handlers) updateNumber(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	return h.saveNumber(c, id)
}

func (h *Handlers) editNumberPage(c echo.Context) error {
	n, err := h.numberFromPath(c)
	if err != nil {
		return err
	}
	p := h.page(c, i18n.T(ctx(c), "numberForm.editTitle", map[string]any{"Label": n.Label}), "numbers")
	return render(c, http.StatusOK, pages.NumberEdit(p, pages.NumberEditView{Label: n.Label,
		Form: pages.NumberFormView{ID: n.ID, CSRFToken: p.CSRFToken, Values: numberValues(n)}}))
}

func (h *Handlers) deleteNumber(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if err := h.deps.Numbers.Delete(ctx(c), actor(c), id); err != nil {
		return err
	}
	flash(c, "success", i18n.T(ctx(c), "numbers.removed"))
	return c.HTML(http.StatusOK, "")
}

func (h *Handlers) apiListNumbers(c echo.Context) error {
	ns, err := h.deps.Numbers.List(ctx(c))
	if err != nil {
		return err
	}
	runs, err := h.deps.Overview.SyncRuns(ctx(c))
	if err != nil {
		return err
	}
	out := make([]numberJSON, 0, len(ns))
	for _, n := range ns {
		st := h.syncStatus(n, runs[n.PhoneNumberID])
		out = append(out, numberJSON{BusinessNumber: n, Sync: syncJSON{State: st.State, Progress: st.Progress, CanSync: st.CanSync, DisabledReason: st.DisabledReason}})
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func (h *Handlers) apiCreateNumber(c echo.Context) error {
	var in registry.Input
	if err := c.Bind(&in); err != nil {
		return apperr.Wrap(apperr.Invalid, "The body must be a JSON object.", err)
	}
	n, err := h.deps.Numbers.Create(ctx(c), actor(c), in)
	if err != nil {
		if e := apperr.As(err); e.Code == apperr.Invalid {
			return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": map[string]any{"status": 422, "message": e.Safe, "fields": e.Fields}})
		}
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"data": numberJSON{BusinessNumber: n, Sync: syncJSON{State: models.SyncNotRequested}}})
}

// numberPage is the page of one number with its live sync panel.
func (h *Handlers) numberPage(c echo.Context) error {
	n, err := h.numberFromPath(c)
	if err != nil {
		return err
	}
	v, err := h.readSync(c, n, true)
	if err != nil {
		return err
	}
	threads, _, err := h.ThreadsView(c, n, "", "")
	if err != nil {
		return err
	}
	noStore(c) // it lists customers' conversations
	p := h.page(c, n.Label, "numbers")
	return render(c, http.StatusOK, pages.NumberDetail(p, pages.NumberDetailView{
		ID: n.ID, Label: n.Label, DisplayPhoneNumber: n.DisplayPhoneNumber, PhoneNumberID: n.PhoneNumberID, WABAID: n.WABAID,
		Provider: n.Provider, ProviderNumberID: n.ProviderNumberID, AccountState: n.AccountState, OnboardedAt: n.OnboardedAt,
		IsAdmin: p.IsAdmin, Panel: v.panel(ctx(c), p.IsAdmin, h.deps.SyncTimeout), Threads: threads,
		Media: h.mediaSummary(c, n.PhoneNumberID), AccountEvents: h.accountEvents(c, n.PhoneNumberID),
	}))
}

// accountEvents are the number page's account events; none when they cannot be read.
func (h *Handlers) accountEvents(c echo.Context, pnid string) []pages.AccountEventRow {
	if h.deps.Accounts == nil {
		return nil
	}
	evs, err := h.deps.Accounts.AccountEvents(ctx(c), pnid, 50)
	if err != nil {
		h.deps.Logger.Warn("account events not read", "err", err)
		return nil
	}
	rows := make([]pages.AccountEventRow, 0, len(evs))
	for _, e := range evs {
		rows = append(rows, pages.AccountEventRow{At: e.At, Event: e.Event, Known: coex.KnownAccountEvent(e.Event),
			Reason: e.Reason, InitiatedBy: e.InitiatedBy, Detail: e.Detail, StateBefore: e.StateBefore, StateAfter: e.StateAfter})
	}
	return rows
}
