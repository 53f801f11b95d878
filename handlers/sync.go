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

func (v syncView) badge() components.SyncBadge { return syncBadge(v.number.ID, v.status) }

// syncBadge is the one place a number's sync state becomes the badge staff see.
func syncBadge(numberID uint64, st syncer.Status) components.SyncBadge {
	state := st.State
	if state == "" {
		state = models.SyncNotRequested
	}
	return components.SyncBadge{NumberID: numberID, State: state, Label: syncLabel(state, st.Progress, st.Reason),
		Polling: syncstate.Running(state), Progress: st.Progress, CanSync: st.CanSync, DisabledReason: st.DisabledReason}
}

// syncLabel is the badge text of a sync state.
func syncLabel(state string, progress int, reason string) string {
	switch state {
	case models.SyncNotRequested:
		return "Not synced"
	case models.SyncRequested:
		return "Requested"
	case models.SyncReceiving:
		return fmt.Sprintf("Receiving %d %%", progress)
	case models.SyncComplete:
		return "Complete"
	case models.SyncDeclined:
		return "Declined by business"
	case models.SyncTimedOut:
		return "Timed out"
	case models.SyncFailed:
		if reason != "" {
			return "Failed: " + reason
		}
		return "Failed"
	}
	return state
}

// panel shapes the sync panel.
func (v syncView) panel(isAdmin bool, timeout time.Duration) components.SyncPanel {
	r, s := v.run, v.summary
	p := components.SyncPanel{
		NumberID: v.number.ID, Badge: v.badge(), IsAdmin: isAdmin, Now: v.now, WindowEnds: v.status.WindowEndsAt,
		RequestedAt: r.RequestedAt, FirstChunkAt: r.FirstChunkAt, LastChunkAt: r.LastChunkAt, CompletedAt: r.CompletedAt,
		ContactsRequestID: r.ContactsRequestID, HistoryRequestID: r.HistoryRequestID,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
		MessagesTotal: s.MessagesTotal, ThreadsTotal: s.ThreadsTotal, Contacts: v.contacts,
	}
	p.Advice = advice(v.status, r, timeout)
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
		p.Gaps = append(p.Gaps, fmt.Sprintf("phase %d: %s", g.Phase, ranges(g.Missing, 12)))
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
func advice(st syncer.Status, r models.SyncRun, timeout time.Duration) string {
	switch st.State {
	case models.SyncDeclined:
		return "The business chose not to share its message history. Meta allows one sync per onboarding: to try again, the business must offboard, onboard again and accept sharing its history; then press Sync within 24 h."
	case models.SyncTimedOut:
		return "No history webhook arrived within " + components.Duration(timeout) + " of the request. Check that the app is subscribed to the history webhook field of this WABA and that the business keeps the WhatsApp Business app open; chunks that still arrive are counted. Meta support will ask for the request_id below."
	case models.SyncFailed:
		switch {
		case st.CanSync && r.ErrorCode == 190:
			return "Update the number's access token (Edit), then press Sync again while the 24 h window is open."
		case st.CanSync:
			return "Press Sync again while the 24 h window is open; if it keeps failing, give Meta support the code above."
		}
		return st.DisabledReason
	case models.SyncRequested:
		if r.ErrorCode == 2593107 {
			return "Waiting for Meta's webhooks. If none arrive, the sync was requested elsewhere; Meta support can tell with the request_id."
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
		return render(c, http.StatusOK, components.SyncBadgeView(v.badge()))
	}
	p, _ := principal(c)
	return h.renderPanel(c, v.panel(p.IsAdmin(), h.deps.SyncTimeout))
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
	return h.renderPanel(c, v.panel(true, h.deps.SyncTimeout))
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
