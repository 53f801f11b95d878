package handlers

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/events"
	"coexhistory/views/components"
)

// messageEvents renders the delivery timeline fragment of a message:
// GET /messages/:wamid/events?phone_number_id=&status=.
func (h *Handlers) messageEvents(c echo.Context) error {
	return h.renderTimeline(c, false)
}

// refreshMessageEvents asks Meta again and re-renders the fragment:
// POST /messages/:wamid/events/refresh?phone_number_id= (form: status).
func (h *Handlers) refreshMessageEvents(c echo.Context) error {
	return h.renderTimeline(c, true)
}

func (h *Handlers) renderTimeline(c echo.Context, refresh bool) error {
	t, err := h.timeline(c, refresh)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, components.Timeline(timelineView(t)))
}

// apiMessageEvents is the timeline as JSON: GET /api/v1/messages/:wamid/events?phone_number_id=&status=.
func (h *Handlers) apiMessageEvents(c echo.Context) error {
	t, err := h.timeline(c, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": timelineJSON(t)})
}

// timeline reads the request's message, number and filter and asks the events service.
func (h *Handlers) timeline(c echo.Context, refresh bool) (events.Timeline, error) {
	if h.deps.Events == nil {
		return events.Timeline{}, apperr.New(apperr.Unavailable, "Delivery timelines are not available.")
	}
	wamid := c.Param("wamid")
	// Echo hands over the raw segment when the path had escapes (a wamid may hold "/").
	if u, err := url.PathUnescape(wamid); err == nil {
		wamid = u
	}
	return h.deps.Events.Timeline(ctx(c), c.FormValue("phone_number_id"), wamid, events.Options{
		Refresh:      refresh,
		StatusFilter: c.FormValue("status"),
	})
}

func timelineView(t events.Timeline) components.TimelineView {
	v := components.TimelineView{
		PhoneNumberID: t.PhoneNumberID, WAMID: t.WAMID, Status: t.Status, Filter: t.Filter, Filters: events.Filters,
		TotalSteps: t.TotalSteps, FetchedAt: t.FetchedAt, FromCache: t.FromCache, Note: t.Note, Problem: t.Problem,
	}
	for _, s := range t.Steps {
		step := components.TimelineStep{
			Status: s.Status, Sources: s.Sources, Application: s.ApplicationName,
			WebhookUpdateState: s.WebhookUpdateState, WebhookURI: s.WebhookURI, ErrorDescription: s.ErrorDescription,
			EventID: s.EventID, WebhookMissing: s.WebhookMissing,
		}
		if step.Application == "" {
			step.Application = s.ApplicationID
		}
		if s.HasTime() {
			step.Time = time.Unix(s.OccurrenceTS, 0).UTC()
		}
		v.Steps = append(v.Steps, step)
	}
	return v
}
