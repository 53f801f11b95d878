package events

import (
	"encoding/json"
	"slices"
	"strings"

	"coexhistory/internal/coex"
	"coexhistory/models"
)

// Sources of a step, in the order they are listed.
const (
	SourceAPI      = "api"      // Message History Events API
	SourceWebhook  = "webhook"  // statuses[] of a messages webhook
	SourceSnapshot = "snapshot" // history_context.status of an imported message; no time
)

// Statuses a step can have besides coex's (pending, sent, delivered, read, played, error).
const (
	StatusAccepted = "accepted" // Meta accepted the message for sending (v24+)
	StatusDeleted  = "deleted"  // the message was deleted (v23)
)

// SameStepWindow is how far apart (in seconds) a status webhook and an API event with the
// same status may be and still be one step.
const SameStepWindow = 5

// Step is one step of a message's delivery timeline. A step seen by several sources (the
// API and a status webhook; the snapshot of an imported message) is listed once.
type Step struct {
	Status             string   // normalised: pending, accepted, sent, delivered, read, played, error, deleted, or an unknown value lowercased
	Sources            []string // SourceAPI, SourceWebhook, SourceSnapshot, in that order
	OccurrenceTS       int64    // Unix seconds; 0 for a snapshot (no time)
	StatusTS           int64    // Unix seconds when Meta recorded the status; 0 if unknown
	ApplicationID      string
	ApplicationName    string
	WebhookUpdateState string // how Meta delivered the status webhook (v24+): SUCCESS, ERROR, …
	WebhookURI         string // where Meta delivered it (v24+)
	ErrorDescription   string
	EventID            string // Meta's event id (API steps)
	// WebhookMissing is set when Meta reports the step but no status webhook for it arrived
	// (only for messages that were live after onboarding).
	WebhookMissing bool
}

// HasTime reports whether the step has a time (snapshots have none).
func (s Step) HasTime() bool { return s.OccurrenceTS > 0 }

// Has reports whether source saw the step.
func (s Step) Has(source string) bool { return slices.Contains(s.Sources, source) }

// Source is the main source of the step: the API when it saw it, then the webhook, then
// the snapshot.
func (s Step) Source() string {
	if len(s.Sources) == 0 {
		return ""
	}
	return s.Sources[0]
}

// NormalizeStatus lowercases a status from any source; "failed" (webhooks, v23) becomes
// "error". Unknown values are kept, lowercased.
func NormalizeStatus(s string) string { return coex.NormalizeStatus(s) }

// Merge builds the ordered timeline of an outbound message from its stored events (API,
// webhook and snapshot rows) and the snapshot held by the message itself, and returns the
// displayed status: the highest reached (coex.MergeStatus; a late lower status never lowers
// it, error is final), starting from the message's stored status.
//
// A webhook status and an API event with the same status at most SameStepWindow seconds
// apart are one step. The snapshot joins the latest timed step with its status, or else is
// a step of its own without time. Timed steps are ordered by time, then status rank;
// steps without time come last.
func Merge(msg models.Message, stored []models.MessageEvent) (string, []Step) {
	var api, hooks []models.MessageEvent
	snapshot := ""
	for _, e := range stored {
		switch e.Source {
		case SourceAPI:
			api = append(api, e)
		case SourceWebhook:
			hooks = append(hooks, e)
		case SourceSnapshot:
			snapshot = coex.MergeStatus(snapshot, e.DeliveryStatus)
		}
	}
	if snapshot == "" && msg.Origin == models.OriginHistory {
		snapshot = historySnapshot(msg)
	}

	steps := make([]Step, 0, len(api)+len(hooks)+1)
	for _, e := range api {
		s := stepOf(e)
		s.Sources = []string{SourceAPI}
		s.EventID = e.EventKey
		steps = append(steps, s)
	}
	slices.SortStableFunc(hooks, func(a, b models.MessageEvent) int { return compareInt(a.OccurrenceTS, b.OccurrenceTS) })
	for _, e := range hooks {
		status := NormalizeStatus(e.DeliveryStatus)
		if i := sameStep(steps, status, e.OccurrenceTS); i >= 0 {
			steps[i].Sources = append(steps[i].Sources, SourceWebhook)
			if steps[i].ErrorDescription == "" {
				steps[i].ErrorDescription = e.ErrorDescription
			}
			continue
		}
		s := stepOf(e)
		s.Sources = []string{SourceWebhook}
		steps = append(steps, s)
	}
	if snapshot != "" {
		joined := false
		for i := len(steps) - 1; i >= 0; i-- {
			if steps[i].Status == snapshot && steps[i].HasTime() {
				steps[i].Sources = append(steps[i].Sources, SourceSnapshot)
				joined = true
				break
			}
		}
		if !joined {
			steps = append(steps, Step{Status: snapshot, Sources: []string{SourceSnapshot}})
		}
	}

	slices.SortStableFunc(steps, compareSteps)
	live := msg.Origin != models.OriginHistory
	status := NormalizeStatus(msg.Status)
	for i := range steps {
		status = coex.MergeStatus(status, steps[i].Status)
		steps[i].WebhookMissing = live && steps[i].Has(SourceAPI) && !steps[i].Has(SourceWebhook) &&
			coex.StatusRank(steps[i].Status) >= coex.StatusRank(coex.StatusSent)
	}
	return status, steps
}

// stepOf is the step of one stored event, without sources.
func stepOf(e models.MessageEvent) Step {
	return Step{
		Status:             NormalizeStatus(e.DeliveryStatus),
		OccurrenceTS:       max(e.OccurrenceTS, 0),
		StatusTS:           e.StatusTS,
		ApplicationID:      e.ApplicationID,
		ApplicationName:    e.ApplicationName,
		WebhookUpdateState: strings.ToUpper(e.WebhookUpdateState),
		WebhookURI:         e.WebhookURI,
		ErrorDescription:   e.ErrorDescription,
	}
}

// sameStep finds the API step a webhook status at ts belongs to: same status, no webhook
// yet, the closest time within SameStepWindow (of its occurrence or status time). -1 if none.
func sameStep(steps []Step, status string, ts int64) int {
	best, bestDist := -1, int64(SameStepWindow)+1
	for i, s := range steps {
		if s.Status != status || !s.Has(SourceAPI) || s.Has(SourceWebhook) {
			continue
		}
		d := abs(s.OccurrenceTS - ts)
		if s.StatusTS > 0 {
			d = min(d, abs(s.StatusTS-ts))
		}
		if d < bestDist {
			best, bestDist = i, d
		}
	}
	return best
}

// compareSteps orders timed steps by time, then status rank, then source and event id;
// steps without time come last, by rank.
func compareSteps(a, b Step) int {
	if a.HasTime() != b.HasTime() {
		if a.HasTime() {
			return -1
		}
		return 1
	}
	if c := compareInt(a.OccurrenceTS, b.OccurrenceTS); c != 0 {
		return c
	}
	if c := compareInt(int64(stepRank(a.Status)), int64(stepRank(b.Status))); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source(), b.Source()); c != 0 {
		return c
	}
	return strings.Compare(a.EventID, b.EventID)
}

// stepRank orders statuses for display: coex's rank, with accepted between pending and
// sent and deleted after everything.
func stepRank(s string) int {
	switch s {
	case StatusAccepted:
		return 3
	case StatusDeleted:
		return 100
	}
	return coex.StatusRank(s) * 2
}

// historySnapshot is history_context.status of an imported message, read from the message
// as received; the stored status when the raw message does not tell.
func historySnapshot(msg models.Message) string {
	var raw struct {
		HistoryContext struct {
			Status string `json:"status"`
		} `json:"history_context"`
	}
	if msg.Raw != "" && json.Unmarshal([]byte(msg.Raw), &raw) == nil && raw.HistoryContext.Status != "" {
		return NormalizeStatus(raw.HistoryContext.Status)
	}
	return NormalizeStatus(msg.Status)
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
