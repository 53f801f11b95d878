package handlers

import (
	"time"

	"coexhistory/internal/events"
	"coexhistory/internal/search"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// The JSON of the API under /api/v1: every type an integration reads is declared here, so
// that a change elsewhere (a store type, a view) cannot change what the API sends.

// numberJSON is a number in the API: never its access token.
type numberJSON struct {
	models.BusinessNumber
	Sync syncJSON `json:"sync"`
}

type syncJSON struct {
	State          string `json:"state"`
	Progress       int    `json:"progress"`
	CanSync        bool   `json:"can_sync"`
	DisabledReason string `json:"disabled_reason,omitempty"`
}

// syncStatusJSON is GET/POST /api/v1/numbers/{phone_number_id}/sync. Times are Unix seconds.
type syncStatusJSON struct {
	syncSummaryJSON
	CanSync           bool   `json:"can_sync"`
	DisabledReason    string `json:"disabled_reason,omitempty"`
	WindowEndsAt      int64  `json:"window_ends_at,omitempty"`
	RequestedAt       int64  `json:"requested_at,omitempty"`
	ContactsRequestID string `json:"contacts_request_id,omitempty"`
	HistoryRequestID  string `json:"history_request_id,omitempty"`
	ContactsTotal     int64  `json:"contacts_total"`
	Notice            string `json:"notice,omitempty"`
}

// syncSummaryJSON is the sync summary part of syncStatusJSON. Times are Unix seconds, 0
// when unknown.
type syncSummaryJSON struct {
	PhoneNumberID string         `json:"phone_number_id"`
	State         string         `json:"state"`
	Progress      int            `json:"progress"`
	Phases        []phaseJSON    `json:"phases"`
	ChunkGaps     []chunkGapJSON `json:"chunk_gaps"`
	MessagesTotal int64          `json:"messages_total"`
	ThreadsTotal  int64          `json:"threads_total"`
	ErrorCode     int            `json:"error_code,omitempty"`
	ErrorMessage  string         `json:"error_message,omitempty"`
	FirstChunkAt  int64          `json:"first_chunk_at,omitempty"`
	LastChunkAt   int64          `json:"last_chunk_at,omitempty"`
	CompletedAt   int64          `json:"completed_at,omitempty"`
}

// phaseJSON is what arrived of one phase (0 = day 0–1, 1 = day 1–90, 2 = day 90–180).
type phaseJSON struct {
	Phase       int   `json:"phase"`
	Chunks      int   `json:"chunks"`
	Messages    int   `json:"messages"` // as delivered in the chunks
	LastChunkAt int64 `json:"last_chunk_at"`
}

// chunkGapJSON lists the chunk orders of a phase missing between the lowest and highest seen.
type chunkGapJSON struct {
	Phase   int   `json:"phase"`
	Missing []int `json:"missing"`
}

func syncSummaryOf(s store.SyncSummary) syncSummaryJSON {
	out := syncSummaryJSON{PhoneNumberID: s.PhoneNumberID, State: s.State, Progress: s.Progress,
		Phases: make([]phaseJSON, 0, len(s.Phases)), ChunkGaps: make([]chunkGapJSON, 0, len(s.ChunkGaps)),
		MessagesTotal: s.MessagesTotal, ThreadsTotal: s.ThreadsTotal, ErrorCode: s.ErrorCode, ErrorMessage: s.ErrorMessage,
		FirstChunkAt: s.FirstChunkAt, LastChunkAt: s.LastChunkAt, CompletedAt: s.CompletedAt}
	for _, p := range s.Phases {
		out.Phases = append(out.Phases, phaseJSON{Phase: p.Phase, Chunks: p.Chunks, Messages: p.Messages, LastChunkAt: p.LastChunkAt})
	}
	for _, g := range s.ChunkGaps {
		out.ChunkGaps = append(out.ChunkGaps, chunkGapJSON{Phase: g.Phase, Missing: g.Missing})
	}
	return out
}

func (v syncView) json() syncStatusJSON {
	s := v.summary
	s.State, s.Progress = v.status.State, v.status.Progress // timed_out shows before the sweep
	out := syncStatusJSON{syncSummaryJSON: syncSummaryOf(s), CanSync: v.status.CanSync, DisabledReason: v.status.DisabledReason,
		ContactsRequestID: v.run.ContactsRequestID, HistoryRequestID: v.run.HistoryRequestID, ContactsTotal: v.contacts}
	if v.status.WindowEndsAt != nil {
		out.WindowEndsAt = v.status.WindowEndsAt.Unix()
	}
	if v.run.RequestedAt != nil {
		out.RequestedAt = v.run.RequestedAt.Unix()
	}
	return out
}

// threadPageJSON is GET /api/v1/threads: {"data":[…],"next_cursor"}; next_cursor is "" on
// the last page.
type threadPageJSON struct {
	Threads    []threadJSON `json:"data"`
	NextCursor string       `json:"next_cursor"`
}

// threadJSON is a thread in the API. A contact known only by its business-scoped user id
// has contact_wa_id "" and its contact_user_id (and contact_username when known).
type threadJSON struct {
	ID              uint64 `json:"id"`
	PhoneNumberID   string `json:"phone_number_id"`
	ContactWAID     string `json:"contact_wa_id"`
	ContactUserID   string `json:"contact_user_id"`
	ContactUsername string `json:"contact_username"`
	ContactName     string `json:"contact_name"`
	MessageCount    int    `json:"message_count"`
	FirstMessageAt  int64  `json:"first_message_at"`
	LastMessageAt   int64  `json:"last_message_at"`
}

func threadsJSON(ts []models.Thread) []threadJSON {
	out := make([]threadJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, threadJSON{ID: t.ID, PhoneNumberID: t.PhoneNumberID, ContactWAID: phoneOf(t.ContactWAID), ContactUserID: t.ContactUserID,
			ContactUsername: t.ContactUsername, ContactName: t.ContactName, MessageCount: t.MessageCount,
			FirstMessageAt: t.FirstMessageAt, LastMessageAt: t.LastMessageAt})
	}
	return out
}

// messageJSON is a message in the API: {"wamid","direction","type","text","timestamp",
// "status","origin","edited","deleted"}, status null when unknown.
type messageJSON struct {
	WAMID     string  `json:"wamid"`
	Direction string  `json:"direction"`
	Type      string  `json:"type"`
	Text      string  `json:"text"`
	Timestamp int64   `json:"timestamp"`
	Status    *string `json:"status"`
	Origin    string  `json:"origin"`
	Edited    bool    `json:"edited"`
	Deleted   bool    `json:"deleted"`
	// Reactions are stored as their own messages but listed on the message they react to.
	Reactions []reactionJSON `json:"reactions,omitempty"`
	// ReactionTo is set on an item of type reaction: the current reaction of one side to a
	// message the archive does not hold, listed on its own (its emoji is the text).
	ReactionTo string `json:"reaction_to,omitempty"`
	// An edited message's earlier versions: the text as first received (when the archive
	// has it) and every edit, oldest first; text is the latest.
	OriginalText string     `json:"original_text,omitempty"`
	Edits        []editJSON `json:"edits,omitempty"`
	// Content is what the message carries besides its text (api_content.go).
	Content *contentJSON `json:"content,omitempty"`
	// Media is {state, mime_type, size, sha256, filename, url}, null without media.
	Media *mediaJSON `json:"media"`
}

type editJSON struct {
	WAMID     string `json:"wamid,omitempty"`
	Text      string `json:"text"`
	Timestamp int64  `json:"timestamp"`
}

type reactionJSON struct {
	WAMID     string `json:"wamid"`
	Emoji     string `json:"emoji"`
	Direction string `json:"direction"`
	Timestamp int64  `json:"timestamp"`
}

// searchResultJSON is one result in the API.
type searchResultJSON struct {
	WAMID         string        `json:"wamid"`
	ThreadID      uint64        `json:"thread_id"`
	PhoneNumberID string        `json:"phone_number_id"`
	ContactWAID   string        `json:"contact_wa_id"`
	ContactName   string        `json:"contact_name"`
	Timestamp     int64         `json:"timestamp"`
	Text          string        `json:"text"`
	Snippet       []segmentJSON `json:"snippet"`
	Direction     string        `json:"direction"`
	Type          string        `json:"type"`
	Status        *string       `json:"status"`
	Origin        string        `json:"origin"`
}

// segmentJSON is a piece of a search result's snippet; match marks a searched word.
type segmentJSON struct {
	Text  string `json:"text"`
	Match bool   `json:"match,omitempty"`
}

func snippetJSON(segs []search.Segment) []segmentJSON {
	out := make([]segmentJSON, 0, len(segs))
	for _, s := range segs {
		out = append(out, segmentJSON{Text: s.Text, Match: s.Match})
	}
	return out
}

// stepJSON is one step in the API's shape.
type stepJSON struct {
	Status              string           `json:"status"`
	Source              string           `json:"source"`
	Sources             []string         `json:"sources"`
	OccurrenceTimestamp *int64           `json:"occurrence_timestamp"` // null for a snapshot
	StatusTimestamp     *int64           `json:"status_timestamp"`
	Application         *applicationJSON `json:"application"`
	WebhookUpdateState  string           `json:"webhook_update_state"`
	WebhookURI          string           `json:"webhook_uri"`
	ErrorDescription    string           `json:"error_description"`
	EventID             string           `json:"event_id"`
	WebhookMissing      bool             `json:"webhook_missing"`
}

type applicationJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// timelineJSON is the API's shape of a timeline: {"wamid","phone_number_id","status",
// "filter","steps":[…],"total_steps","fetched_at","from_cache","note","problem"}.
func timelineJSON(t events.Timeline) map[string]any {
	steps := make([]stepJSON, 0, len(t.Steps))
	for _, s := range t.Steps {
		j := stepJSON{
			Status: s.Status, Source: s.Source(), Sources: s.Sources, WebhookUpdateState: s.WebhookUpdateState,
			WebhookURI: s.WebhookURI, ErrorDescription: s.ErrorDescription, EventID: s.EventID, WebhookMissing: s.WebhookMissing,
		}
		if s.HasTime() {
			j.OccurrenceTimestamp = &s.OccurrenceTS
		}
		if s.StatusTS > 0 {
			j.StatusTimestamp = &s.StatusTS
		}
		if s.ApplicationID != "" || s.ApplicationName != "" {
			j.Application = &applicationJSON{ID: s.ApplicationID, Name: s.ApplicationName}
		}
		steps = append(steps, j)
	}
	var fetched *time.Time
	if !t.FetchedAt.IsZero() {
		at := t.FetchedAt.UTC()
		fetched = &at
	}
	return map[string]any{
		"wamid": t.WAMID, "phone_number_id": t.PhoneNumberID, "status": t.Status, "filter": t.Filter,
		"steps": steps, "total_steps": t.TotalSteps, "fetched_at": fetched, "from_cache": t.FromCache,
		"note": t.Note, "problem": t.Problem,
	}
}
