package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/i18n"
	"coexhistory/internal/store"
	"coexhistory/internal/syncer"
	"coexhistory/internal/syncstate"
	"coexhistory/models"
	"coexhistory/views/components"
)

// SyncRequester starts the history sync of a number.
type SyncRequester interface {
	Request(ctx context.Context, a syncer.Actor, pnid string) (syncer.Result, error)
}

// SyncProgress reads what the sync views show.
type SyncProgress interface {
	NumberByPhoneNumberID(ctx context.Context, pnid string) (models.BusinessNumber, error)
	SyncRun(ctx context.Context, pnid string) (models.SyncRun, error)
	SyncSummary(ctx context.Context, pnid string) (store.SyncSummary, error)
	ListChunks(ctx context.Context, pnid string, limit int) ([]models.HistoryChunk, error)
	SyncedContacts(ctx context.Context, pnid string) (int64, error)
}

// ledgerRows is how many chunks the ledger lists.
const ledgerRows = 200

// syncView is everything the sync views of one number need, read at one moment.
type syncView struct {
	number   models.BusinessNumber
	run      models.SyncRun
	status   syncer.Status
	summary  store.SyncSummary
	chunks   []models.HistoryChunk
	contacts int64
	now      time.Time
}

// readSync reads the sync of n. With full false it reads only the run (for the badge).
func (h *Handlers) readSync(c echo.Context, n models.BusinessNumber, full bool) (syncView, error) {
	v := syncView{number: n, now: h.deps.Now().UTC()}
	run, err := h.deps.SyncProgress.SyncRun(ctx(c), n.PhoneNumberID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		run = models.SyncRun{PhoneNumberID: n.PhoneNumberID, State: models.SyncNotRequested}
	case err != nil:
		return v, fmt.Errorf("read sync run: %w", err)
	}
	v.run = run
	v.status = syncer.Describe(n, run, v.now, h.deps.SyncTimeout)
	if !full {
		return v, nil
	}
	if v.summary, err = h.deps.SyncProgress.SyncSummary(ctx(c), n.PhoneNumberID); err != nil {
		return v, err
	}
	if v.chunks, err = h.deps.SyncProgress.ListChunks(ctx(c), n.PhoneNumberID, ledgerRows); err != nil {
		return v, err
	}
	if v.contacts, err = h.deps.SyncProgress.SyncedContacts(ctx(c), n.PhoneNumberID); err != nil {
		return v, err
	}
	return v, nil
}

func (v syncView) badge(rc context.Context) components.SyncBadge {
	return syncBadge(rc, v.number.ID, v.status)
}

// syncBadge is the one place a number's sync state becomes the badge staff see, in the
// reader's language (the API keeps the syncer's English).
func syncBadge(rc context.Context, numberID uint64, st syncer.Status) components.SyncBadge {
	state := st.State
	if state == "" {
		state = models.SyncNotRequested
	}
	return components.SyncBadge{NumberID: numberID, State: state, Label: syncLabel(rc, state, st.Progress, st.Reason),
		Polling: syncstate.Running(state), Progress: st.Progress, CanSync: st.CanSync, DisabledReason: i18n.Known(rc, st.DisabledReason)}
}

// syncLabel is the badge text of a sync state.
func syncLabel(rc context.Context, state string, progress int, reason string) string {
	switch state {
	case models.SyncNotRequested:
		return i18n.T(rc, "sync.state.not_requested")
	case models.SyncRequested:
		return i18n.T(rc, "sync.state.requested")
	case models.SyncReceiving:
		return i18n.T(rc, "sync.state.receiving", map[string]any{"Progress": progress})
	case models.SyncComplete:
		return i18n.T(rc, "sync.state.complete")
	case models.SyncDeclined:
		return i18n.T(rc, "sync.state.declined")
	case models.SyncTimedOut:
		return i18n.T(rc, "sync.state.timed_out")
	case models.SyncFailed:
		if reason != "" {
			return i18n.T(rc, "sync.state.failedReason", map[string]any{"Reason": i18n.Known(rc, reason)})
		}
		return i18n.T(rc, "sync.state.failed")
	}
	return state
}

// panel shapes the sync panel.
func (v syncView) panel(rc context.Context, isAdmin bool, timeout time.Duration) components.SyncPanel {
	r, s := v.run, v.summary
	p := components.SyncPanel{
		NumberID: v.number.ID, Badge: v.badge(rc), IsAdmin: isAdmin, Now: v.now, WindowEnds: v.status.WindowEndsAt,
		RequestedAt: r.RequestedAt, FirstChunkAt: r.FirstChunkAt, LastChunkAt: r.LastChunkAt, CompletedAt: r.CompletedAt,
		ContactsRequestID: r.ContactsRequestID, HistoryRequestID: r.HistoryRequestID,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
		MessagesTotal: s.MessagesTotal, ThreadsTotal: s.ThreadsTotal, Contacts: v.contacts,
	}
	p.Advice = advice(rc, v.status, r, timeout)
	byPhase := map[int]store.PhaseSummary{}
	var delivered int64
	for _, ph := range s.Phases {
		byPhase[ph.Phase] = ph
		p.ChunksTotal += ph.Chunks
		delivered += int64(ph.Messages)
	}
	p.Delivered = delivered
	for _, n := range []int{0, 1, 2} {
		ph := byPhase[n]
		ph.Phase = n
		p.Phases = append(p.Phases, syncPhase(ph, s.Phases, v.status))
	}
	for _, ph := range s.Phases {
		if ph.Phase < 0 || ph.Phase > 2 { // not documented, but show it if Meta sends it
			p.Phases = append(p.Phases, syncPhase(ph, s.Phases, v.status))
		}
	}
	for _, g := range s.ChunkGaps {
		p.Gaps = append(p.Gaps, i18n.T(rc, "sync.gap", map[string]any{"Phase": g.Phase, "Ranges": ranges(g.Missing, 12)}))
	}
	p.Rate, p.ETA = rateAndETA(r, delivered, v.status.Progress)
	for _, c := range v.chunks {
		p.Chunks = append(p.Chunks, components.SyncChunk{Phase: c.Phase, ChunkOrder: c.ChunkOrder, Progress: c.Progress,
			Threads: c.ThreadCount, Messages: c.MessageCount, ReceivedAt: c.ReceivedAt})
	}
	return p
}

// syncPhase shapes one phase row. Meta reports only the overall progress, so a phase's own
// progress is inferred: a phase with chunks is done once the sync is complete or Meta has
// moved on to another phase (a later last chunk elsewhere); the phase Meta sends now shows
// the overall progress; a phase with no chunks is at 0.
func syncPhase(ph store.PhaseSummary, all []store.PhaseSummary, st syncer.Status) components.SyncPhase {
	out := components.SyncPhase{Phase: ph.Phase, Chunks: ph.Chunks, Messages: int64(ph.Messages), LastChunkAt: unixTime(ph.LastChunkAt)}
	if ph.Chunks == 0 {
		return out
	}
	current := true
	for _, q := range all {
		if q.Phase != ph.Phase && q.Chunks > 0 && q.LastChunkAt > ph.LastChunkAt {
			current = false
		}
	}
	switch {
	case st.State == models.SyncComplete || st.Progress >= 100 || !current:
		out.Progress = 100
	case syncstate.Running(st.State):
		out.Progress, out.Receiving = min(max(st.Progress, 0), 99), true
	default: // the sync stopped (timed out, failed) while this phase was arriving
		out.Progress = min(max(st.Progress, 0), 99)
	}
	return out
}

// rateAndETA derives messages/s from the chunks received between the first and the last
// chunk, and the time left from the progress made in that span.
func rateAndETA(r models.SyncRun, delivered int64, progress int) (float64, time.Duration) {
	if r.FirstChunkAt == nil || r.LastChunkAt == nil {
		return 0, 0
	}
	span := r.LastChunkAt.Sub(*r.FirstChunkAt)
	if span <= 0 {
		return 0, 0
	}
	rate := float64(delivered) / span.Seconds()
	var eta time.Duration
	if progress > 0 && progress < 100 {
		eta = time.Duration(float64(span) * float64(100-progress) / float64(progress))
	}
	return rate, eta
}

// advice says what to do about a sync that needs attention.
func advice(rc context.Context, st syncer.Status, r models.SyncRun, timeout time.Duration) string {
	switch st.State {
	case models.SyncDeclined:
		return i18n.T(rc, "sync.advice.declined")
	case models.SyncTimedOut:
		return i18n.T(rc, "sync.advice.timedOut", map[string]any{"Timeout": components.Duration(timeout)})
	case models.SyncFailed:
		switch {
		case st.CanSync && r.ErrorCode == 190:
			return i18n.T(rc, "sync.advice.token")
		case st.CanSync:
			return i18n.T(rc, "sync.advice.again")
		}
		return i18n.Known(rc, st.DisabledReason)
	case models.SyncRequested:
		if r.ErrorCode == 2593107 {
			return i18n.T(rc, "sync.advice.elsewhere")
		}
	}
	return ""
}

// ranges writes sorted numbers as "1, 4–6, 9", at most limit groups.
func ranges(nums []int, limit int) string {
	var parts []string
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if len(parts) == limit {
			parts = append(parts, "…")
			break
		}
		if j == i {
			parts = append(parts, strconv.Itoa(nums[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d–%d", nums[i], nums[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func unixTime(sec int64) *time.Time {
	if sec <= 0 {
		return nil
	}
	t := time.Unix(sec, 0).UTC()
	return &t
}

// syncFragment is the polled progress of a number: the panel (with the chunk ledger out of
// band), or with view=badge the badge of the numbers table. When the page showed a running
// sync (was) that has now ended, HX-Trigger: syncChanged tells the other regions to refresh.
func (h *Handlers) syncFragment(c echo.Context) error {
	varyHX(c)
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if !isHX(c) {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/numbers/%d", id))
	}
	n, err := h.deps.Numbers.Get(ctx(c), id)
	if err != nil {
		return err
	}
	badgeOnly := c.QueryParam("view") == "badge"
	v, err := h.readSync(c, n, !badgeOnly)
	if err != nil {
		return err
	}
	if syncstate.Running(c.QueryParam("was")) && !syncstate.Running(v.status.State) {
		c.Response().Header().Set("HX-Trigger", "syncChanged")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if badgeOnly {
		return render(c, http.StatusOK, components.SyncBadgeView(v.badge(ctx(c))))
	}
	p, _ := principal(c)
	return h.renderPanel(c, v.panel(ctx(c), p.IsAdmin(), h.deps.SyncTimeout))
}

func (h *Handlers) renderPanel(c echo.Context, p components.SyncPanel) error {
	return render(c, http.StatusOK, templ.Join(components.SyncPanelView(p), components.ChunkLedger(p, true)))
}

// requestSync is the Sync button: it asks the sync service, then re-renders what the button
// sits in (the numbers table or the sync panel) with a flash. Refusals and provider errors
// are shown, not raised: the run records them.
func (h *Handlers) requestSync(c echo.Context) error {
	n, err := h.numberFromPath(c)
	if err != nil {
		return err
	}
	res, err := h.deps.Sync.Request(ctx(c), syncActor(c), n.PhoneNumberID)
	kind, msg := "success", res.Notice
	if err != nil {
		e := apperr.As(err)
		switch e.Code {
		case apperr.Conflict:
			kind, msg = "warning", e.Safe
		case apperr.Upstream:
			kind, msg = "error", e.Safe
		default:
			return err
		}
	}
	msg = i18n.KnownAll(ctx(c), msg)
	if !isHX(c) {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/numbers/%d", n.ID))
	}
	if c.Request().Header.Get("HX-Target") == "numbers-table" {
		flash(c, kind, msg)
		return h.numbersTable(c)
	}
	v, err := h.readSync(c, n, true)
	if err != nil {
		return err
	}
	if syncstate.Running(v.status.State) {
		flash(c, kind, msg)
	} else {
		// Over before the panel could poll (a fast upstream, or a failure): tell the page now.
		flash(c, kind, msg, "syncChanged")
	}
	return h.renderPanel(c, v.panel(ctx(c), true, h.deps.SyncTimeout))
}

func syncActor(c echo.Context) syncer.Actor {
	p, _ := principal(c)
	return syncer.Actor{Name: p.Name, RemoteIP: c.RealIP()}
}

// apiNumber finds the number of the :phone_number_id parameter.
func (h *Handlers) apiNumber(c echo.Context) (models.BusinessNumber, error) {
	n, err := h.deps.SyncProgress.NumberByPhoneNumberID(ctx(c), c.Param("phone_number_id"))
	if errors.Is(err, store.ErrNotFound) {
		return n, apperr.New(apperr.NotFound, "No number with this phone_number_id is registered.")
	}
	return n, err
}

func (h *Handlers) apiSyncStatus(c echo.Context) error {
	n, err := h.apiNumber(c)
	if err != nil {
		return err
	}
	v, err := h.readSync(c, n, true)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v.json())
}

// apiRequestSync starts the sync: 202 with the sync status; 409 when Meta's rules refuse it
// (the reason in the message); 502 when the provider failed (the run records the code).
func (h *Handlers) apiRequestSync(c echo.Context) error {
	n, err := h.apiNumber(c)
	if err != nil {
		return err
	}
	res, err := h.deps.Sync.Request(ctx(c), syncActor(c), n.PhoneNumberID)
	if err != nil {
		return err
	}
	v, err := h.readSync(c, n, true)
	if err != nil {
		return err
	}
	out := v.json()
	out.Notice = res.Notice
	return c.JSON(http.StatusAccepted, out)
}
