// Package events builds the delivery-status timeline of a message: it reads the events of
// Meta's Message History (Events) APIs through the provider client, keeps them briefly
// cached in the database, and merges them with the status webhooks received and the
// history snapshot of imported messages.
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"coexhistory/internal/apperr"
	"coexhistory/internal/coex"
	"coexhistory/internal/provider"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// DefaultCacheTTL is how long fetched events are used without asking Meta again.
const DefaultCacheTTL = 60 * time.Second

// Store is what the service needs from the database.
type Store interface {
	MessageByWAMID(ctx context.Context, phoneNumberID, wamid string) (models.Message, error)
	NumberByPhoneNumberID(ctx context.Context, pnid string) (models.BusinessNumber, error)
	MessageEvents(ctx context.Context, phoneNumberID, wamid string) ([]models.MessageEvent, error)
	UpsertMessageEvents(ctx context.Context, events []models.MessageEvent) error
	MessageEventFetch(ctx context.Context, phoneNumberID, wamid string) (models.MessageEventFetch, error)
	PutMessageEventFetch(ctx context.Context, f models.MessageEventFetch) error
	MergeMessageStatus(ctx context.Context, phoneNumberID, wamid, status string) (string, error)
}

// Tokens opens the access token of a number.
type Tokens interface {
	AccessToken(ctx context.Context, pnid string) (string, error)
}

// Config configures the service.
type Config struct {
	Store      Store
	Tokens     Tokens
	Meta       provider.EventsReader // Meta's Graph API client; nil when not configured
	APIVersion string                // Graph API version, for the status names of the filter ("v25.0")
	CacheTTL   time.Duration         // default DefaultCacheTTL
	Now        func() time.Time      // default time.Now
	Logger     *slog.Logger          // default slog.Default()
}

// Service builds timelines.
type Service struct {
	store  Store
	tokens Tokens
	meta   provider.EventsReader
	legacy bool // v23 or older: FAILED/DELETED instead of ERROR/ACCEPTED
	ttl    time.Duration
	now    func() time.Time
	log    *slog.Logger
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, tokens: cfg.Tokens, meta: cfg.Meta, ttl: cfg.CacheTTL, now: cfg.Now, log: cfg.Logger}
	if s.ttl <= 0 {
		s.ttl = DefaultCacheTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(strings.TrimSpace(cfg.APIVersion), "v"), ".", 2)[0])
	s.legacy = err == nil && major > 0 && major < 24
	return s
}

// Options adjust Timeline.
type Options struct {
	Refresh      bool   // ask Meta even when the cached events are fresh
	StatusFilter string // show only steps with this status ("" for all); see Filters
}

// Filters are the status filter values Timeline accepts, in display order ("failed" is
// taken as "error").
var Filters = []string{coex.StatusPending, StatusAccepted, coex.StatusSent, coex.StatusDelivered,
	coex.StatusRead, coex.StatusPlayed, coex.StatusError, StatusDeleted}

// Timeline is the delivery timeline of one message.
type Timeline struct {
	PhoneNumberID string
	WAMID         string
	Direction     string
	Status        string // highest status reached; "" for inbound messages
	Filter        string // the status filter applied to Steps; "" for none
	Steps         []Step // ordered; after the filter
	TotalSteps    int    // steps before the filter
	FetchedAt     time.Time
	FromCache     bool   // Meta was not asked: the last fetch is younger than the cache TTL
	Note          string // plain words when Meta's events are missing or incomplete
	Problem       bool   // Note reports an error (from Meta or with the token)
}

// Timeline returns the timeline of the message wamid of number pnid. It asks Meta for the
// message's events unless the last fetch is younger than the cache TTL and no status
// webhook for the message arrived since (opts.Refresh always asks). Errors of Meta do not
// fail the call: they become the Note, and the stored steps are shown. An unknown message
// is apperr.NotFound, a bad filter apperr.Invalid.
func (s *Service) Timeline(ctx context.Context, pnid, wamid string, opts Options) (Timeline, error) {
	pnid, wamid = strings.TrimSpace(pnid), strings.TrimSpace(wamid)
	if pnid == "" {
		return Timeline{}, apperr.New(apperr.Invalid, "Say which number the message belongs to (phone_number_id).")
	}
	filter, err := ParseFilter(opts.StatusFilter)
	if err != nil {
		return Timeline{}, err
	}
	msg, err := s.store.MessageByWAMID(ctx, pnid, wamid)
	if errors.Is(err, store.ErrNotFound) {
		return Timeline{}, apperr.Wrap(apperr.NotFound, "This message is not in the archive.", err)
	}
	if err != nil {
		return Timeline{}, fmt.Errorf("timeline of %q: %w", wamid, err)
	}
	t := Timeline{PhoneNumberID: pnid, WAMID: wamid, Direction: msg.Direction, Filter: filter}
	if msg.Direction != models.DirectionOutbound {
		t.Note = "Delivery statuses exist only for messages the business sent."
		return t, nil
	}

	stored, err := s.store.MessageEvents(ctx, pnid, wamid)
	if err != nil {
		return t, fmt.Errorf("timeline of %q: %w", wamid, err)
	}
	last, err := s.store.MessageEventFetch(ctx, pnid, wamid)
	switch {
	case err == nil:
		t.FetchedAt = last.FetchedAt
	case !errors.Is(err, store.ErrNotFound):
		return t, fmt.Errorf("timeline of %q: %w", wamid, err)
	}
	if !opts.Refresh && err == nil && s.fresh(last, stored) {
		t.FromCache = true
		t.Note, t.Problem = last.ErrorMessage, last.ErrorMessage != ""
	} else {
		r, err := s.fetch(ctx, msg, filter)
		if err != nil {
			return t, err
		}
		t.Note, t.Problem = r.note, r.problem
		if !r.fetchedAt.IsZero() {
			t.FetchedAt = r.fetchedAt
		}
		if r.stored {
			if stored, err = s.store.MessageEvents(ctx, pnid, wamid); err != nil {
				return t, fmt.Errorf("timeline of %q: %w", wamid, err)
			}
		}
	}

	status, steps := Merge(msg, stored)
	t.Status, t.TotalSteps = status, len(steps)
	t.Steps = steps
	if filter != "" {
		t.Steps = make([]Step, 0, len(steps))
		for _, st := range steps {
			if st.Status == filter {
				t.Steps = append(t.Steps, st)
			}
		}
	}
	if t.Note == "" && len(steps) == 0 {
		t.Note = "No delivery steps are recorded for this message."
	}
	return t, nil
}

// ParseFilter checks a status filter and returns it normalised ("failed" → "error").
func ParseFilter(f string) (string, error) {
	f = NormalizeStatus(f)
	if f == "" || f == "all" {
		return "", nil
	}
	for _, known := range Filters {
		if f == known {
			return f, nil
		}
	}
	return "", apperr.New(apperr.Invalid, "Unknown status filter: use one of "+strings.Join(Filters, ", ")+".")
}

// fresh reports whether the last fetch can be used instead of asking Meta: it is younger
// than the TTL and no status webhook for the message was stored after it.
func (s *Service) fresh(last models.MessageEventFetch, stored []models.MessageEvent) bool {
	if s.now().Sub(last.FetchedAt) >= s.ttl {
		return false
	}
	for _, e := range stored {
		if e.Source == SourceWebhook && e.CreatedAt.After(last.FetchedAt) {
			return false
		}
	}
	return true
}

// fetchResult is the outcome of asking Meta.
type fetchResult struct {
	stored    bool      // events were written
	fetchedAt time.Time // when the fetch was recorded; zero if it was not
	note      string
	problem   bool
}

// fetch asks Meta for the events of msg, stores them, raises the message's status, and
// records the fetch (with its error) unless a status filter narrowed it. Failures of Meta
// or of the number's token become the note; only database errors are returned.
func (s *Service) fetch(ctx context.Context, msg models.Message, filter string) (fetchResult, error) {
	pnid, wamid := msg.PhoneNumberID, msg.WAMID
	number, err := s.store.NumberByPhoneNumberID(ctx, pnid)
	if errors.Is(err, store.ErrNotFound) {
		return fetchResult{note: "This number is not registered any more, so Meta cannot be asked; only the stored steps are shown."}, nil
	}
	if err != nil {
		return fetchResult{}, fmt.Errorf("events of %q: %w", wamid, err)
	}
	if number.Provider == models.ProviderPositus {
		return fetchResult{note: positusNote}, nil
	}
	if s.meta == nil {
		return fetchResult{note: "Meta's Graph API is not configured; only the stored steps are shown."}, nil
	}
	token, err := s.tokens.AccessToken(ctx, pnid)
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			s.log.WarnContext(ctx, "events: access token unavailable", "phone_number_id", pnid, "err", err)
			return fetchResult{note: ae.Safe, problem: true}, nil
		}
		return fetchResult{}, fmt.Errorf("events of %q: %w", wamid, err)
	}
	n := provider.Number{PhoneNumberID: pnid, AccessToken: token}
	q := provider.EventsQuery{Status: s.metaStatus(filter)}

	var got []models.MessageEvent
	ids, err := s.meta.MessageHistoryIDs(ctx, n, wamid)
	for _, id := range ids {
		evs, eerr := s.meta.MessageEvents(ctx, n, id, q)
		for _, e := range evs {
			got = append(got, apiEvent(pnid, wamid, e))
		}
		if eerr != nil {
			err = eerr
			break
		}
	}
	var r fetchResult
	if len(got) > 0 {
		if serr := s.store.UpsertMessageEvents(ctx, got); serr != nil {
			return r, fmt.Errorf("events of %q: %w", wamid, serr)
		}
		r.stored = true
		if serr := s.raiseStatus(ctx, msg, got); serr != nil {
			return r, serr
		}
	}
	switch {
	case errors.Is(err, provider.ErrUnsupported):
		r.note = positusNote
		return r, nil
	case err != nil && ctx.Err() != nil:
		return r, fmt.Errorf("events of %q: %w", wamid, err)
	case err != nil:
		r.note, r.problem = noteFor(err), true
		s.log.WarnContext(ctx, "events: Meta did not answer", "phone_number_id", pnid, "wamid", wamid, "kind", string(provider.KindOf(err)), "err", err)
	case len(ids) == 0:
		r.note = noHistoryNote
	}
	if q.Status != "" {
		// A filtered answer is not all of the message's events: it must not make the cache fresh.
		return r, nil
	}
	f := models.MessageEventFetch{PhoneNumberID: pnid, WAMID: wamid, FetchedAt: s.now().UTC()}
	if r.problem {
		f.ErrorMessage = r.note
		var ge *provider.GraphAPIError
		if errors.As(err, &ge) {
			f.ErrorCode = ge.Code
			if f.ErrorCode == 0 {
				f.ErrorCode = ge.HTTPStatus
			}
		}
	}
	if serr := s.store.PutMessageEventFetch(ctx, f); serr != nil {
		return r, fmt.Errorf("events of %q: %w", wamid, serr)
	}
	r.fetchedAt = f.FetchedAt
	return r, nil
}

// raiseStatus lifts the message's stored status to the highest status Meta reports, so the
// thread view shows it too (never lowering it).
func (s *Service) raiseStatus(ctx context.Context, msg models.Message, got []models.MessageEvent) error {
	best := ""
	for _, e := range got {
		if coex.StatusRank(e.DeliveryStatus) > 0 {
			best = coex.MergeStatus(best, e.DeliveryStatus)
		}
	}
	if best == "" || coex.MergeStatus(msg.Status, best) == NormalizeStatus(msg.Status) {
		return nil
	}
	if _, err := s.store.MergeMessageStatus(ctx, msg.PhoneNumberID, msg.WAMID, best); err != nil {
		return fmt.Errorf("events of %q: %w", msg.WAMID, err)
	}
	return nil
}

// metaStatus is the value of Meta's status filter for filter, or "" when the configured
// version has no such status (the filter then applies only here).
func (s *Service) metaStatus(filter string) provider.DeliveryStatus {
	switch filter {
	case coex.StatusSent:
		return provider.StatusSent
	case coex.StatusDelivered:
		return provider.StatusDelivered
	case coex.StatusRead:
		return provider.StatusRead
	case coex.StatusError:
		if s.legacy {
			return provider.StatusFailed
		}
		return provider.StatusError
	case StatusAccepted:
		if !s.legacy {
			return provider.StatusAccepted
		}
	case StatusDeleted:
		if s.legacy {
			return provider.StatusDeleted
		}
	}
	return ""
}

// apiEvent is the stored form of an event of Meta's API. Events without an id (not
// documented) are keyed by status and time.
func apiEvent(pnid, wamid string, e provider.Event) models.MessageEvent {
	key := e.ID
	if key == "" {
		key = string(e.DeliveryStatus) + ":" + strconv.FormatInt(e.OccurrenceTimestamp, 10)
	}
	return models.MessageEvent{
		PhoneNumberID:      pnid,
		WAMID:              wamid,
		Source:             SourceAPI,
		EventKey:           key,
		DeliveryStatus:     NormalizeStatus(string(e.DeliveryStatus)),
		OccurrenceTS:       e.OccurrenceTimestamp,
		StatusTS:           e.StatusTimestamp,
		ApplicationID:      e.ApplicationID,
		ApplicationName:    e.ApplicationName,
		ErrorDescription:   e.ErrorDescription,
		WebhookUpdateState: string(e.WebhookUpdateState),
		WebhookURI:         e.WebhookURI,
	}
}

// Notes shown instead of Meta's events.
const (
	positusNote   = "Meta's delivery events are not available for Positus numbers; only the stored steps are shown."
	noHistoryNote = "Meta has no delivery history for this message."
)

// noteFor says in plain words why Meta's events could not be read, with the codes that
// identify the error in a support case.
func noteFor(err error) string {
	var ge *provider.GraphAPIError
	if !errors.As(err, &ge) {
		return "Meta could not be reached; try again later."
	}
	var words string
	switch ge.Kind() {
	case provider.KindNotFound:
		words = noHistoryNote
	case provider.KindTokenInvalid:
		words = "The number's access token has expired or is invalid; update the token to read Meta's delivery events."
	case provider.KindNoPermission:
		words = "The number's access token has no permission to read this message's delivery history."
	case provider.KindInvalidParameter:
		words = "Meta rejected the request: the status filter is not valid for this API version."
	case provider.KindFieldsUnavailable:
		words = "Meta cannot return the requested fields for this API version (check COEX_GRAPH_API_VERSION)."
	case provider.KindRateLimited:
		words = "Meta is rate limiting these requests; they were retried with back-off. Try again in a few minutes."
	case provider.KindUnavailable:
		words = "Meta had a temporary problem; try again later."
	default:
		words = ge.Meaning()
	}
	ref := []string{}
	if ge.Code != 0 {
		c := "code " + strconv.Itoa(ge.Code)
		if ge.Subcode != 0 {
			c += "/" + strconv.Itoa(ge.Subcode)
		}
		ref = append(ref, c)
	}
	ref = append(ref, "HTTP "+strconv.Itoa(ge.HTTPStatus))
	return words + " (" + strings.Join(ref, ", ") + ")"
}

// InteractiveRetry is the retry policy for the Graph API client of timelines: a person is
// waiting, so fewer tries and short waits (the sync client keeps the long default).
func InteractiveRetry() provider.RetryPolicy {
	return provider.RetryPolicy{MaxAttempts: 3, Base: 500 * time.Millisecond, Cap: 4 * time.Second, AttemptTimeout: 10 * time.Second}
}
